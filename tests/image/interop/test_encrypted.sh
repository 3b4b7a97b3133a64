#!/usr/bin/env bash
# Encrypted images (MCUboot's ENC_EC256) both ways: imgtool's encrypted vectors decrypt and verify
# with `otakit verify/inspect -K`; images from `otakit sign --encrypt` decrypt and verify with an
# independent implementation (enc_check.py, python3-cryptography, written from imgtool's code).
#   tests/image/interop/test_encrypted.sh path/to/otakit path/to/imgtool-vectors path/to/imgtool-enc-vectors
set -uo pipefail
otakit=$(realpath "$1")
V=$(realpath "$2")
E=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
source "$here/../../cli/expect.sh"
check() { "$py" "$here/enc_check.py" "$E/enc-ec256-key.pem" "$V/ec256-pub.pem" "$@"; }
K=(-k "$V/ec256-key.pem")
DK=(-K "$E/enc-ec256-key.pem")

# --- the checker: accepts imgtool's images, refuses a modified one (else it proves nothing) ----
check "$E/fw-65537.enc-ec256.bin" "$E/fw-65537.enc-ec256-aes256.bin" > c.out && ok || { bad "checker rejects imgtool's encrypted images"; cat c.out; }
cp "$E/fw-65537.enc-ec256.bin" t.bin; flip t.bin 60000
check t.bin >/dev/null && bad "checker accepts a modified ciphertext" || ok

# --- imgtool -> otakit ---------------------------------------------------------------------
for f in fw-65537.enc-ec256.bin fw-65537.enc-ec256-aes256.bin; do
  expect 0 "verify -K $f" verify "${K[@]}" "${DK[@]}" "$E/$f"; has out "encrypted (plaintext checked)"
  expect 0 "inspect -K $f" inspect "${K[@]}" "${DK[@]}" "$E/$f"; has out "signature         ecdsa-p256, valid"
  expect 1 "verify without -K $f" verify "${K[@]}" "$E/$f"; has err "OTA_ERR_ENC_KEY"
  expect 1 "verify with another device's key $f" verify "${K[@]}" -K "$V/ec256-key.pem" "$E/$f"; has err "OTA_ERR_ENC_TLV"
done
expect 0 "inspect --json -K" inspect --json "${K[@]}" "${DK[@]}" "$E/fw-65537.enc-ec256-aes256.bin"
has out '"flags":8'; has out '"encrypted":true,"decrypted":true'; has out '"valid":true'
expect 0 "imgtool's plain twin verifies" verify "${K[@]}" "$E/fw-65537.plain-h200.bin"
cp "$E/fw-65537.enc-ec256.bin" t.bin; flip t.bin 600
expect 1 "modified ciphertext" verify "${K[@]}" "${DK[@]}" t.bin; has err "OTA_ERR_HASH"
cp "$E/fw-65537.enc-ec256.bin" t.bin; flip t.bin $((66219 + 80))
expect 1 "modified ENC_EC256 tag" verify "${K[@]}" "${DK[@]}" t.bin; has err "OTA_ERR_ENC_TLV"

# --- otakit -> independent check --------------------------------------------------------------
imgs=()
for n in 0 1 15 16 1000 65537; do
  head -c $n /dev/urandom > p$n.bin
  expect 0 "sign --encrypt $n" sign "${K[@]}" -v 1.0.0+$n --encrypt "$E/enc-ec256-pub.pem" p$n.bin a$n.img
  has out "AES-128-CTR"; imgs+=(a$n.img)
  expect 0 "sign --aes256 $n" sign "${K[@]}" -v 2.0.0 -s 3 --product acme -H 0x200 --aes256 \
    -E "$E/enc-ec256-pub.pem" p$n.bin b$n.img
  has out "AES-256-CTR"; imgs+=(b$n.img)
done
mkdir plain
if check --out-dir plain "${imgs[@]}" > c.out; then ok; else bad "independent check rejects our encrypted images"; grep INVALID c.out; fi
[[ $(grep -c ': valid' c.out) == ${#imgs[@]} ]] && ok || bad "not every image was checked"
for n in 0 1 15 16 1000 65537; do # the plaintext is the input, zero-padded to whole AES blocks
  pad=$(( (16 - n % 16) % 16 ))
  { cat p$n.bin; head -c $pad /dev/zero; } > want.bin
  cmp -s want.bin plain/a$n.img.plain && ok || bad "a$n: decrypted payload is not the input"
  cmp -s want.bin plain/b$n.img.plain && ok || bad "b$n: decrypted payload is not the input"
  [[ $n == 0 ]] || { cmp -s p$n.bin <(head -c $n a$n.img | tail -c +33 | head -c $n) && bad "a$n: payload sent in the clear" || ok; }
done
expect 0 "verify -K our images" verify -q "${K[@]}" "${DK[@]}" "${imgs[@]}"
expect 0 "verify --product on an encrypted image" verify "${K[@]}" "${DK[@]}" --product acme b1000.img
# Header flags and TLV exactly as MCUboot defines them.
"$py" - a1000.img b1000.img <<'PY' && ok || bad "header flag or ENC_EC256 TLV not as MCUboot defines"
import struct, sys
for path, flag, tlen in ((sys.argv[1], 0x4, 113), (sys.argv[2], 0x8, 129)):
    b = open(path, "rb").read()
    hs, ps, n, flags = struct.unpack_from("<HHII", b, 8)
    assert flags == flag, (path, flags)
    off = hs + n + ps
    m, tot = struct.unpack_from("<HH", b, off)
    p, types = off + 4, []
    while p < off + tot:
        t, l = struct.unpack_from("<HH", b, p); types.append((t, l)); p += 4 + l
    assert types[-1] == (0x32, tlen) and b[off + tot - tlen] == 0x04, types  # after the signature, like imgtool
PY
# Same options as imgtool: the plaintext hash is imgtool's.
expect 0 "sign like imgtool" sign "${K[@]}" -v 1.2.0+3 -H 0x200 -E "$E/enc-ec256-pub.pem" "$E/fw-65537.bin" ours.img
"$py" - ours.img "$E/fw-65537.enc-ec256.bin" <<'PY' && ok || bad "plaintext hash differs from imgtool's"
import struct, sys
def sha(path):
    b = open(path, "rb").read()
    hs, ps, n = struct.unpack_from("<HHI", b, 8)
    p = hs + n + ps + 4
    while True:
        t, l = struct.unpack_from("<HH", b, p)
        if t == 0x10: return b[p + 4:p + 4 + l]
        p += 4 + l
assert sha(sys.argv[1]) == sha(sys.argv[2])
PY
expect 2 "bad --encrypt-keylen" sign "${K[@]}" -v 1.0.0 -E "$E/enc-ec256-pub.pem" --encrypt-keylen 192 p1.bin x.img
expect 1 "missing encryption key" sign "${K[@]}" -v 1.0.0 -E nonexistent.pem p1.bin x.img

report "encrypted interop"
