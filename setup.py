"""Package discovery: the library ``alc_data`` and the command line ``cli/`` installed as ``alc_data_cli``.

(A top-level import package named ``cli`` would clash with other installed packages.)
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["alc_data", "alc_data.*"]) + ["alc_data_cli"],
    package_dir={"alc_data_cli": "cli"},
    package_data={"alc_data": ["py.typed"]},
)
