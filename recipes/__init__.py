"""Built-in recipes (TOML files beside this file), installed as the package ``alc_data_recipes``."""
