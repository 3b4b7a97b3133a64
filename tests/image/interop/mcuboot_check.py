#!/usr/bin/env python3
"""Independent check that images follow the MCUboot format as imgtool and MCUboot read it.

Written from the published format (docs/image-format.md, MCUboot's imgtool and bootutil
behaviour), using python3-cryptography (OpenSSL) for the signatures (ECDSA P-256 and P-384, RSA-PSS, Ed25519):
nothing of otakit's C code.
It applies imgtool's `verify` algorithm (hash over [0, unprotected info), SHA256 TLV, signature
over the same bytes, DER cut to sig[1]+2) and MCUboot's stricter bootloader rules
(protect_tlv_size == protected tot, TLVs inside their areas, KEYHASH of the key before the
signature, only allow-listed TLVs unprotected).

usage: mcuboot_check.py PUBKEY.pem IMAGE...     exit 0 when all pass, 1 otherwise
"""
import hashlib
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

IMAGE_MAGIC = 0x96F3B83D
ALLOWED_UNPROTECTED = {0x01, 0x02, 0x10, 0x11, 0x12, 0x20, 0x21, 0x22, 0x23, 0x24, 0x30, 0x31, 0x32, 0x33, 0x34}


def tlvs(b, start, end):
    off = start + 4
    while off < end:
        if end - off < 4:
            raise ValueError("TLV header straddles the area end")
        t, l = struct.unpack_from("<HH", b, off)
        if off + 4 + l > end:
            raise ValueError("TLV 0x%x runs past its area" % t)
        yield t, b[off + 4 : off + 4 + l]
        off += 4 + l


def key_facts(pub):
    """What imgtool embeds and hashes for this key (scripts/imgtool/keys/*.py get_public_bytes),
    the image hash it uses, the signature TLV type, and a verify(sig, signed_bytes, digest)."""
    if isinstance(pub, rsa.RSAPublicKey):
        der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        tlv = {2048: 0x20, 3072: 0x23}[pub.key_size]
        return der, hashlib.sha256, 0x10, tlv, lambda sig, data, dig: pub.verify(sig, data, pss, hashes.SHA256())
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(pub, ed25519.Ed25519PublicKey):
        # imgtool signs the SHA-256 digest with Ed25519 (not --pure)
        return der, hashlib.sha256, 0x10, 0x24, lambda sig, data, dig: pub.verify(sig, dig)
    if pub.curve.name == "secp384r1":
        return der, hashlib.sha384, 0x11, 0x22, lambda sig, data, dig: pub.verify(
            sig[: sig[1] + 2], data, ec.ECDSA(hashes.SHA384()))
    return der, hashlib.sha256, 0x10, 0x22, lambda sig, data, dig: pub.verify(
        sig[: sig[1] + 2], data, ec.ECDSA(hashes.SHA256()))


def check(pub, _unused, path):
    b = open(path, "rb").read()
    magic, _load, hdr_size, prot_size, img_size, flags = struct.unpack_from("<IIHHII", b, 0)
    if magic != IMAGE_MAGIC:
        raise ValueError("bad magic")
    if flags & 0x60C:
        raise ValueError("encrypted/compressed flags")
    off = hdr_size + img_size
    m, tot = struct.unpack_from("<HH", b, off)
    if m == 0x6908:
        if tot != prot_size:
            raise ValueError("protect_tlv_size %d != protected tot %d" % (prot_size, tot))
        prot = list(tlvs(b, off, off + tot))
        off += tot
        m, tot = struct.unpack_from("<HH", b, off)
    elif prot_size:
        raise ValueError("protect_tlv_size set but no protected area")
    if m != 0x6907:
        raise ValueError("bad unprotected TLV magic")
    if off + tot > len(b):
        raise ValueError("TLV area past end of file")
    der_pub, hfn, hash_tlv, sig_tlv, verify = key_facts(pub)
    digest = hfn(b[:off]).digest()
    seen_key = False
    hash_ok = sig_ok = False
    for t, v in tlvs(b, off, off + tot):
        if t not in ALLOWED_UNPROTECTED:
            raise ValueError("TLV 0x%x not allowed unprotected" % t)
        if t == hash_tlv:
            if v != digest:
                raise ValueError("hash TLV 0x%x mismatch" % t)
            hash_ok = True
        elif t == 0x01:
            if v != hfn(der_pub).digest():
                raise ValueError("KEYHASH is not this key")
            seen_key = True
        elif t == sig_tlv:
            if not seen_key:
                raise ValueError("signature before KEYHASH")
            try:
                verify(v, b[:off], digest)
                sig_ok = True
            except InvalidSignature:
                raise ValueError("bad signature")
    if not hash_ok or not sig_ok:
        raise ValueError("missing hash or signature")
    return struct.unpack_from("<BBHI", b, 20)


def main():
    pem = open(sys.argv[1], "rb").read()
    try:
        pub = serialization.load_pem_private_key(pem, None).public_key()
    except ValueError:
        pub = serialization.load_pem_public_key(pem)
    bad = 0
    for path in sys.argv[2:]:
        try:
            v = check(pub, None, path)
            print("%s: valid (version %d.%d.%d+%d)" % ((path,) + v))
        except (ValueError, struct.error) as e:
            print("%s: INVALID: %s" % (path, e))
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
