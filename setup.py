"""Maps the repository's top-level folders into the single import package ``lstmabar``.

``server/`` installs as ``lstmabar.server``, ``tools/`` as ``lstmabar.tools`` and so on, so
nothing generic lands at the top of site-packages. ``lstmabar`` itself is a namespace package.
"""

from setuptools import find_packages, setup

ROOTS = ("server", "tools", "models", "library", "prompts")

packages: list[str] = []
package_dir: dict[str, str] = {}
for root in ROOTS:
    packages.append(f"lstmabar.{root}")
    package_dir[f"lstmabar.{root}"] = root
    packages += [f"lstmabar.{root}.{sub}" for sub in find_packages(root)]

setup(
    packages=packages,
    package_dir=package_dir,
    # Shipped weights also sit in plain data folders (e.g. models/matching/weights/), hence "weights/*".
    package_data={"": ["*.json", "*.npz", "*.pt", "*.safetensors", "*.html", "*.js", "*.css", "*.md", "*.txt", "weights/*"]},
    include_package_data=True,
)
