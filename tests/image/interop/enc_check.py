#!/usr/bin/env python3
"""Independent check of encrypted MCUboot images with python3-cryptography, written from
mcu-tools/mcuboot scripts/imgtool/image.py (ecies_hkdf, create) and boot/bootutil/src/encrypted.c
(boot_decrypt_key): shares no code with otakit.

    enc_check.py ENC_PRIV.pem SIGN_PUB.pem IMAGE... [--out-dir DIR]

For each image: the ENCRYPTED_AES128/256 header flag, the ENC_EC256 TLV (ephemeral point || HMAC
tag || wrapped key) opened with ECDH + HKDF-SHA256("MCUBoot_ECIES_v1") + HMAC-SHA256 + AES-CTR,
the payload decrypted with AES-CTR from a zero counter, the SHA256 TLV recomputed over the
plaintext (header, payload, protected TLVs) and the ECDSA-P256 signature checked on it. Prints
"IMAGE: valid" or "IMAGE: INVALID: why"; with --out-dir writes each decrypted payload there.
Exit status 0 only when every image is valid."""
import hashlib
import hmac
import os
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

F_AES128, F_AES256 = 0x4, 0x8
TLV_SHA256, TLV_ECDSA_SIG, TLV_ENC_EC256 = 0x10, 0x22, 0x32


def ctr(key, data):
    d = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).decryptor()
    return d.update(data) + d.finalize()


def check(path, priv, pub, out_dir):
    b = open(path, "rb").read()
    magic, _load, hs, ps, n, flags = struct.unpack_from("<IIHHII", b, 0)
    if magic != 0x96F3B83D:
        return "bad magic"
    klen = 32 if flags & F_AES256 else 16 if flags & F_AES128 else 0
    if not klen:
        return "not encrypted"
    off = hs + n + ps
    m, tot = struct.unpack_from("<HH", b, off)
    if m != 0x6907:
        return "no TLV area"
    tlvs, p = {}, off + 4
    while p < off + tot:
        t, l = struct.unpack_from("<HH", b, p)
        tlvs.setdefault(t, b[p + 4:p + 4 + l])
        p += 4 + l
    enc = tlvs.get(TLV_ENC_EC256)
    if enc is None or len(enc) != 65 + 32 + klen:
        return "no ENC_EC256 TLV of %d bytes" % (65 + 32 + klen)
    eph = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), enc[:65])
    shared = priv.exchange(ec.ECDH(), eph)
    derived = HKDF(algorithm=hashes.SHA256(), length=klen + 32, salt=None,
                   info=b"MCUBoot_ECIES_v1").derive(shared)
    tag = hmac.new(derived[klen:], enc[97:], hashlib.sha256).digest()
    if not hmac.compare_digest(tag, enc[65:97]):
        return "ENC_EC256 tag does not match (another key, or a modified TLV)"
    aes_key = ctr(derived[:klen], enc[97:])
    plain = ctr(aes_key, b[hs:hs + n])
    digest = hashlib.sha256(b[:hs] + plain + b[hs + n:off]).digest()
    if tlvs.get(TLV_SHA256) != digest:
        return "SHA256 TLV is not the hash of the decrypted image"
    sig = tlvs.get(TLV_ECDSA_SIG)
    if sig is None:
        return "no signature"
    sig = sig[:sig[1] + 2]
    try:
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
        pub.verify(sig, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return "signature does not verify"
    if out_dir:
        open(os.path.join(out_dir, os.path.basename(path) + ".plain"), "wb").write(plain)
    return None


def main():
    args = sys.argv[1:]
    out_dir = None
    if "--out-dir" in args:
        i = args.index("--out-dir")
        out_dir = args[i + 1]
        del args[i:i + 2]
    priv = serialization.load_pem_private_key(open(args[0], "rb").read(), None)
    pub = serialization.load_pem_public_key(open(args[1], "rb").read())
    bad = 0
    for path in args[2:]:
        why = check(path, priv, pub, out_dir)
        print("%s: %s" % (path, "valid" if why is None else "INVALID: " + why))
        bad += why is not None
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
