"""The embedded demo data: synthetic scenes with ground truth and Grounded-SAM-like noisy labels."""

from alc_data.demo.synth import DEMO_CLASSES, NoiseRates, Scene, generate, make_scene
from alc_data.demo.workspace import build_demo_workspace, demo_source

__all__ = ["DEMO_CLASSES", "NoiseRates", "Scene", "build_demo_workspace", "demo_source", "generate", "make_scene"]
