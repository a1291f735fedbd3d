"""Packaging glue that pyproject.toml cannot express: the top-level `presets/` folder ships as `daml_cli.presets`.

setuptools' automatic discovery only finds packages under their own folder names, so the presets package
(mapped from `presets/` by `package-dir` in pyproject.toml) is added to the discovered ones here.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["daml_cli", "daml_cli.*"]), "daml_cli.presets"])
