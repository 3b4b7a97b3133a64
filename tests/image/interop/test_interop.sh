#!/usr/bin/env bash
# Images made by `otakit sign` must pass an independent MCUboot/imgtool-rules verifier
# (mcuboot_check.py, python3-cryptography) and `openssl dgst -verify`; and must be byte-identical
# to imgtool's own output wherever ECDSA's randomness does not enter.
#   tests/image/interop/test_interop.sh path/to/otakit path/to/imgtool-vectors [path/to/imgtool-algs]
set -uo pipefail
otakit=$(realpath "$1")
V=$(realpath "$2")
A=$(realpath "${3:-$V/../imgtool-algs}") # RSA-2048/3072, ECDSA-P384, Ed25519 (tests/vectors/README.md)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../cli/expect.sh"
sign() { "$otakit" sign -k "$V/ec256-key.pem" "$@" >/dev/null || bad "otakit sign $*"; }

# The checker itself must accept imgtool's images and reject a tampered one, or it proves nothing.
"${PYTHON:-python3}" "$here/mcuboot_check.py" "$V/ec256-key.pem" "$V"/fw-*.*.bin >/dev/null && ok || bad "checker rejects imgtool vectors"
cp "$V/fw-1000.signed.bin" t.bin && printf '\x00' | dd of=t.bin bs=1 seek=500 conv=notrunc status=none
"${PYTHON:-python3}" "$here/mcuboot_check.py" "$V/ec256-key.pem" t.bin >/dev/null && bad "checker accepts a tampered image" || ok

# Our images, many shapes, through the independent checker.
imgs=()
for n in 0 1 31 1000 4096 65537; do
  head -c $n /dev/urandom > p$n.bin
  sign -v 1.2.3+$n p$n.bin a$n.img; imgs+=(a$n.img)
  sign -v 3.0.0 -s $n --product acme-x1 --hw-rev revA,revB -H 0x200 p$n.bin b$n.img; imgs+=(b$n.img)
  sign -v 0.1.0 --custom-tlv 0xa0=0x0102030405 --custom-tlv 0xa1=otakit --pad-sig p$n.bin c$n.img; imgs+=(c$n.img)
  sign -v 9.9.9 -S 0x20000 --align 8 --confirm p$n.bin d$n.img; imgs+=(d$n.img)
done
if "${PYTHON:-python3}" "$here/mcuboot_check.py" "$V/ec256-pub.pem" "${imgs[@]}" > check.out; then ok; else bad "checker rejects our images"; grep INVALID check.out; fi
[[ $(grep -c ': valid' check.out) == ${#imgs[@]} ]] && ok || bad "not every image was checked"

# OpenSSL on the signed region and the DER signature of one image.
"${PYTHON:-python3}" - a1000.img <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
hs, ps, n = struct.unpack_from("<HHI", b, 8)
off = hs + n + ps
open("signed.dat", "wb").write(b[:off])
m, tot = struct.unpack_from("<HH", b, off); p = off + 4
while p < off + tot:
    t, l = struct.unpack_from("<HH", b, p)
    if t == 0x22: open("sig.der", "wb").write(b[p + 4:p + 4 + l])
    p += 4 + l
PY
openssl dgst -sha256 -verify "$V/ec256-pub.pem" -signature sig.der signed.dat >/dev/null && ok || bad "openssl rejects our signature"

# Byte-identical to imgtool apart from the signature: same options, same key.
cmp_upto() { # FILE_A FILE_B NBYTES DESC
  cmp -s -n "$3" "$1" "$2" && ok || bad "$4: differs from imgtool in the first $3 bytes"
}
sign -v 1.2.3+4 "$V/fw-1000.bin" s.img
cmp_upto s.img "$V/fw-1000.signed.bin" $((1032 + 4 - 2)) "fw-1000 header/payload"
cmp -s -i 1036:1036 -n 72 s.img "$V/fw-1000.signed.bin" && ok || bad "fw-1000 SHA256+KEYHASH TLVs differ from imgtool"
sign -v 1.2.3+4 -s 7 "$V/fw-1000.bin" s7.img
cmp_upto s7.img "$V/fw-1000.seccnt7.bin" 1044 "fw-1000 with security counter 7 (protected area)"
sign -v 1.2.3+4 --custom-tlv 0xa0=0x0102030405 "$V/fw-1000.bin" ct.img
cmp_upto ct.img "$V/fw-1000.customtlv.bin" 1045 "fw-1000 with a custom TLV"
sign -v 2.0.0+0 -H 0x200 --pad --confirm --align 4 -S 0x20000 "$V/fw-4096.bin" pc.img
cmp_upto pc.img "$V/fw-4096.padded-confirmed.bin" 4688 "fw-4096 padded+confirmed up to the signature"
cmp -s -i 4760:4760 pc.img "$V/fw-4096.padded-confirmed.bin" && ok || bad "fw-4096 slot padding and trailer differ from imgtool"

# Every other algorithm MCUboot verifies: imgtool's image passes the checker (and a tampered one
# does not), otakit sign with the same key and options makes an image the checker accepts, and the
# bytes equal imgtool's: all of them for Ed25519 (deterministic), everything up to the signature
# value for RSA-PSS (random salt) and ECDSA-P384 (random k).
for alg in rsa-2048 rsa-3072 ecdsa-p384 ed25519; do
  img="$A/fw-65537.$alg.bin"
  "${PYTHON:-python3}" "$here/mcuboot_check.py" "$A/$alg-pub.pem" "$img" >/dev/null && ok || bad "checker rejects imgtool's $alg image"
  cp "$img" t.bin && printf '\x00' | dd of=t.bin bs=1 seek=600 conv=notrunc status=none
  "${PYTHON:-python3}" "$here/mcuboot_check.py" "$A/$alg-pub.pem" t.bin >/dev/null && bad "checker accepts a tampered $alg image" || ok
  "$otakit" sign -k "$A/$alg-key.pem" --align 8 -v 1.2.0+3 -H 0x200 -S 0x40000 "$A/fw-65537.bin" o.$alg.img >/dev/null ||
    bad "otakit sign with the $alg key"
  "${PYTHON:-python3}" "$here/mcuboot_check.py" "$A/$alg-pub.pem" o.$alg.img >/dev/null && ok || bad "checker rejects otakit's $alg image"
  "$otakit" verify -k "$A/$alg-pub.pem" o.$alg.img "$img" >/dev/null && ok || bad "otakit verify rejects a $alg image"
  sigoff=$("${PYTHON:-python3}" - o.$alg.img <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
hs, ps, n = struct.unpack_from("<HHI", b, 8)
off = hs + n + ps
m, tot = struct.unpack_from("<HH", b, off); p = off + 4
while p < off + tot:
    t, l = struct.unpack_from("<HH", b, p)
    if t in (0x20, 0x22, 0x23, 0x24): print(p + 4, l)
    p += 4 + l
PY
)
  read -r at len <<<"$sigoff"
  if [[ $alg == ed25519 ]]; then
    cmp -s o.$alg.img "$img" && ok || bad "otakit's ed25519 image differs from imgtool's"
  elif [[ $alg == rsa-* ]]; then
    # RSA-PSS: same length everywhere; only the signature value differs
    cmp -s -n "$at" o.$alg.img "$img" && [[ $(stat -c %s o.$alg.img) == $(stat -c %s "$img") ]] && ok ||
      bad "otakit's $alg image differs from imgtool's before the signature"
  else
    # ECDSA: the DER signature's length varies, so the TLV area's total may too: compare the
    # header, payload, hash and key hash TLVs (the unprotected tot field aside)
    hdrend=$((0x200 + 65537))
    cmp -s -n "$hdrend" o.$alg.img "$img" && cmp -s -i $((hdrend + 4)):$((hdrend + 4)) -n $((at - 4 - hdrend - 4)) o.$alg.img "$img" &&
      ok || bad "otakit's $alg image differs from imgtool's before the signature"
  fi
done

report interop
