"""What the otakit-device tests share: the programs and keys they use (from the environment CMake
sets), tests/server (otaserver: the server fixture) and tests/net (netlib) on sys.path, and the
firmware they update to: otakit-device mkfw, signed with otakit sign, uploaded as a release."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for _d in ("server", "net"):
    if os.path.join(HERE, "..", _d) not in sys.path:
        sys.path.insert(0, os.path.join(HERE, "..", _d))
from otaserver import CLI, VECTORS  # noqa: E402

DEVICE = os.environ.get("OTAKIT_DEVICE", "build/tools/sim/otakit-device")
KEY = os.path.join(VECTORS, "ec256-key.pem")
PUB = os.path.join(VECTORS, "ec256-pub.pem")


def mkfw(path, version, behaviour="healthy", size=30000):
    """A simulated firmware build (otakit-device mkfw) at path."""
    subprocess.run([DEVICE, "mkfw", "--version", version, "--behaviour", behaviour, "--size", str(size), path],
                   check=True)


def sign(raw, img, version, product):
    """raw signed with KEY as version of product, written to img."""
    subprocess.run([CLI, "sign", "-k", KEY, "-v", version, "--product", product, raw, img], check=True,
                   capture_output=True)


def upload(server, product, owner, img):
    """img uploaded to server as a release of product (owner: its owner token); asserts 201."""
    with open(img, "rb") as f:
        st, rel, _ = server.req("POST", "/api/v1/products/%s/releases" % product, f.read(), token=owner)
    assert st == 201, (st, rel)


def firmware(tmp, version, product, behaviour="healthy", size=30000):
    """mkfw + sign into tmp (fw-VERSION.bin, fw-VERSION.img); returns the image's path."""
    raw = os.path.join(tmp, "fw-%s.bin" % version)
    img = os.path.join(tmp, "fw-%s.img" % version)
    mkfw(raw, version, behaviour, size)
    sign(raw, img, version, product)
    return img
