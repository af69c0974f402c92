"""§5.1 — the §3 network on Fashion-MNIST (configs/fashion_basic.yaml), as a plain Keras script.

The chapter reuses the §3 model unchanged, and so does this script.
"""

from _common import main
from mnist_basic import BATCH_SIZE, VALIDATION, build

if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION)
