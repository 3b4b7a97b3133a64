#!/usr/bin/env bash
# End-to-end tests of the otakit CLI, as a user runs it: exit codes, messages, files written.
#   tests/cli/test_cli.sh path/to/otakit path/to/imgtool-vectors
set -uo pipefail
otakit=$(realpath "$1")
V=$(realpath "$2")
source "$(dirname "$(realpath "$0")")/expect.sh"

# --- dispatcher and help -------------------------------------------------------------------
expect 0 "--help" --help; for c in keygen getpub sign verify inspect; do has out "$c"; done
expect 2 "no command"
expect 2 "unknown command" frobnicate; has err "unknown command 'frobnicate'"
expect 0 "--version" --version; has out "otakit "
for c in keygen getpub sign verify inspect; do
  expect 0 "$c --help" $c --help; has out "usage: otakit $c"
  expect 2 "$c bad option" $c --no-such-option
done

# --- keygen ------------------------------------------------------------------------------
expect 0 "keygen" keygen -k k.pem --pub k.pub.pem; has out "key hash: "
[[ $(stat -c %a k.pem) == 600 ]] && ok || bad "private key mode is $(stat -c %a k.pem), want 600"
head -1 k.pem | grep -q 'PRIVATE KEY' && ok || bad "k.pem is not a PEM private key"
cp k.pem k.orig
expect 1 "keygen over an existing key" keygen -k k.pem; has err "already exists"
same k.pem k.orig "existing key must be untouched"
expect 0 "keygen --force" keygen -k k2.pem && expect 0 "keygen --force" keygen -k k2.pem --force
expect 2 "keygen without -k" keygen
expect 1 "keygen into a missing directory" keygen -k nodir/k.pem; has err "No such file or directory"
openssl pkey -in k.pem -noout 2>/dev/null && ok || bad "openssl cannot read our private key"

# --- getpub --------------------------------------------------------------------------------
expect 0 "getpub der (imgtool key)" getpub -k "$V/ec256-key.pem" -e der -o pub.der
same pub.der "$V/ec256-pub.der" "DER public key must equal imgtool getpub -e raw"
expect 0 "getpub hash" getpub -k "$V/ec256-key.pem" -e hash
[[ $(cat out) == $(xxd -p -c 64 "$V/ec256-pubhash.bin") ]] && ok || bad "key hash differs from imgtool getpubhash"
expect 0 "getpub from a public key" getpub -k "$V/ec256-pub.pem" -e hash
[[ $(cat out) == $(xxd -p -c 64 "$V/ec256-pubhash.bin") ]] && ok || bad "key hash from public PEM differs"
expect 0 "getpub pem" getpub -k "$V/ec256-key.pem" -e pem
openssl pkey -pubin -in out -outform DER -out pem.der 2>/dev/null && same pem.der "$V/ec256-pub.der" "PEM public key"
expect 0 "getpub c" getpub -k k.pem -o key.c; has key.c "otakit_pub_key_hash_len = 32"
printf '#include <stdio.h>\n#include "key.c"\nint main(void){for(unsigned i=0;i<otakit_pub_key_hash_len;i++)printf("%%02x",otakit_pub_key_hash[i]);printf(" %%u\\n",otakit_pub_key_len);return 0;}\n' > main.c
if cc -Wall -Werror -o keyprog main.c 2>cc.err; then
  [[ $(./keyprog) == "$("$otakit" getpub -k k.pem -e hash) 91" ]] && ok || bad "C array hash differs from getpub -e hash"
else bad "generated C does not compile"; cat cc.err; fi
expect 2 "getpub bad encoding" getpub -k k.pem -e base64
expect 2 "getpub bad C name" getpub -k k.pem -n 9bad
expect 1 "getpub missing key file" getpub -k missing.pem; has err "missing.pem: No such file"
echo "not a key" > junk.pem
expect 1 "getpub junk key" getpub -k junk.pem; has err "not an ECDSA P-256/P-384, RSA-2048/3072 or Ed25519 key"

# --- sign ----------------------------------------------------------------------------------
head -c 5000 /dev/urandom > fw.bin
expect 0 "sign" sign -k k.pem -v 1.2.3+4 -s 7 --product acme-x1 --hw-rev revA --hw-rev revB fw.bin fw.img
has out "version           1.2.3+4"
expect 0 "sign again" sign -k k.pem -v 1.2.3+4 -s 7 --product acme-x1 --hw-rev revA --hw-rev revB fw.bin fw2.img
same fw.img fw2.img "signing is deterministic"
expect 2 "sign without version" sign -k k.pem fw.bin x.img
expect 2 "sign with a bad version" sign -k k.pem -v 1.2.3.4 fw.bin x.img; has err "bad version '1.2.3.4'"
expect 2 "sign with version 256" sign -k k.pem -v 256.0.0 fw.bin x.img
expect 2 "sign without key" sign -v 1.0.0 fw.bin x.img
expect 2 "sign without output" sign -k k.pem -v 1.0.0 fw.bin
expect 2 "sign with a bad product" sign -k k.pem -v 1.0.0 --product 'a b' fw.bin x.img
expect 2 "sign with a bad header size" sign -k k.pem -v 1.0.0 -H 16 fw.bin x.img
expect 2 "sign with a bad alignment" sign -k k.pem -v 1.0.0 --align 3 fw.bin x.img
expect 2 "sign --pad without slot" sign -k k.pem -v 1.0.0 --pad fw.bin x.img
expect 2 "sign with a negative counter" sign -k k.pem -v 1.0.0 -s -1 fw.bin x.img
expect 1 "sign with a public key" sign -k k.pub.pem -v 1.0.0 fw.bin x.img; has err "needs the private key"
expect 1 "sign a missing input" sign -k k.pem -v 1.0.0 nope.bin x.img; has err "nope.bin: No such file"
expect 1 "sign an already signed image" sign -k k.pem -v 1.0.0 fw.img x.img; has err "already a signed image"
expect 1 "sign into a slot too small" sign -k k.pem -v 1.0.0 -S 4096 fw.bin x.img; has err "do not fit in the slot"
[[ ! -e x.img ]] && ok || bad "a failed sign left an output file"
ls x.img.tmp.* >/dev/null 2>&1 && bad "a failed sign left a temp file" || ok
expect 0 "sign --confirm" sign -k k.pem -v 2.0.0 -H 0x200 -S 0x10000 --align 4 --confirm fw.bin slot.img
[[ $(stat -c %s slot.img) == 65536 ]] && ok || bad "padded image is $(stat -c %s slot.img) bytes, want 65536"
expect 0 "sign from stdin to stdout" sign -k k.pem -v 1.0.0 - - < fw.bin; cp out piped.img
expect 0 "verify piped image" verify -k k.pub.pem piped.img
expect 0 "sign an empty payload" sign -k k.pem -v 0.0.1 /dev/null empty.img
expect 0 "sign with custom TLVs" sign -k k.pem -v 1.0.0 --custom-tlv 0xa0=0x0102 --custom-tlv 0xa1=hello fw.bin custom.img
expect 2 "sign with a reserved custom tag" sign -k k.pem -v 1.0.0 --custom-tlv 0x10=0x01 fw.bin x.img
expect 0 "sign --tlv by name" sign -k k.pem -v 1.0.0 --tlv boot_record=0x0102 --tlv SEC_CNT=9 --custom-tlv 0xa0=x fw.bin named.img
expect 0 "inspect a --tlv image" inspect named.img; has out "security counter  9"
grep -qE '^  protected +0x0050 SEC_CNT +4 bytes at [0-9]+  9$' out && ok || bad "inspect does not show a TLV's value"
grep -A3 '^TLVs' out | tr -s ' ' | cut -d' ' -f3,4 | tr '\n' ' ' | grep -qF "0x0050 SEC_CNT 0x0060 BOOT_RECORD 0x00a0 (vendor)" \
  && ok || bad "--tlv TLVs are not in table order before custom ones"
expect 2 "sign --tlv of an unprotected type" sign -k k.pem -v 1.0.0 --tlv SHA256=0x00 fw.bin x.img
expect 2 "sign --tlv with a bad value" sign -k k.pem -v 1.0.0 --tlv PRODUCT='a b' fw.bin x.img
expect 1 "sign --tlv twice where once is the rule" sign -k k.pem -v 1.0.0 -s 1 --tlv SEC_CNT=2 fw.bin x.img
has err "appears twice"

# --- verify --------------------------------------------------------------------------------
expect 0 "verify" verify -k k.pub.pem fw.img; has out "fw.img: OK: version 1.2.3+4, security counter 7, product acme-x1"
expect 0 "verify with the private key file" verify -k k.pem fw.img slot.img empty.img custom.img
expect 0 "verify with product/hw/counter policy" verify -k k.pub.pem --product acme-x1 --hw-rev revB --min-security-counter 7 fw.img
expect 1 "verify another product" verify -k k.pub.pem --product acme-x2 fw.img; has err "OTA_ERR_PRODUCT"
expect 1 "verify other hardware" verify -k k.pub.pem --hw-rev revC fw.img; has err "OTA_ERR_HW_REV"
expect 1 "verify a downgrade" verify -k k.pub.pem --min-security-counter 8 fw.img; has err "OTA_ERR_DOWNGRADE"
expect 1 "verify with the wrong key" verify -k k2.pem fw.img; has err "not trusted here"
expect 0 "verify with two keys" verify -k k2.pem -k k.pub.pem fw.img; has out "signed by k.pub.pem"
expect 2 "verify without key" verify fw.img
expect 2 "verify without image" verify -k k.pem
cp fw.img payload-flip.img; flip payload-flip.img 100
expect 1 "verify a tampered payload" verify -k k.pub.pem payload-flip.img
[[ $(wc -l < err) == 1 ]] && ok || bad "tampered image must give one line, got $(wc -l < err)"
has err "payload-flip.img: FAIL: image hash mismatch"
cp fw.img header-flip.img; flip header-flip.img 20
expect 1 "verify a tampered version" verify -k k.pub.pem header-flip.img; has err "OTA_ERR_HASH"
size=$(stat -c %s fw.img)
cp fw.img sig-flip.img; flip sig-flip.img $((size - 10))
expect 1 "verify a tampered signature" verify -k k.pub.pem sig-flip.img; has err "OTA_ERR_SIGNATURE"
head -c $((size - 1)) fw.img > cut.img
expect 1 "verify a truncated image" verify -k k.pub.pem cut.img; has err "OTA_ERR_TRUNCATED"
expect 1 "verify junk" verify -k k.pub.pem fw.bin; has err "OTA_ERR_MAGIC"
expect 1 "verify one good one bad" verify -k k.pub.pem fw.img cut.img; has out "fw.img: OK"; has err "cut.img: FAIL"
expect 1 "verify a missing file" verify -k k.pub.pem missing.img; has err "missing.img: No such file"
expect 0 "verify -q" verify -q -k k.pub.pem fw.img; [[ ! -s out ]] && ok || bad "verify -q printed output"
expect 0 "verify imgtool vectors" verify -k "$V/ec256-pub.pem" "$V"/fw-*.*.bin

# --- verify and inspect stream: peak memory does not grow with the image ---------------------
# A 64 MiB image (sparse payload) against a small one: max RSS may differ by far less than 64 MiB.
truncate -s 64M big.bin
expect 0 "sign a 64 MiB payload" sign -k k.pem -v 1.0.0 big.bin big.img; rm -f big.bin
maxrss() { "${PYTHON:-python3}" -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$otakit" "$@"; }
for cmd in verify inspect; do
  small=$(maxrss $cmd -k k.pub.pem fw.img) && big=$(maxrss $cmd -k k.pub.pem big.img) \
    && (( big - small < 16384 )) && ok || bad "$cmd of a 64 MiB image: max RSS ${big:-?} KiB vs ${small:-?} KiB for a small one"
done
rm -f big.img

# --- inspect -------------------------------------------------------------------------------
expect 0 "inspect" inspect fw.img
for want in "version           1.2.3+4" "payload           5000 bytes" "security counter  7" \
            "product           acme-x1" "hardware          revA,revB" "key hash          " \
            "matches the SHA256 TLV" "present (not checked: no -k)"; do has out "$want"; done
grep -qE '^sha256 +[0-9a-f]{64} ' out && ok || bad "inspect lacks the sha256"
expect 0 "inspect -k" inspect -k k.pub.pem fw.img; has out "ecdsa-p256, valid"
expect 1 "inspect -k wrong key" inspect -k k2.pem fw.img; has err "OTA_ERR_KEY_UNKNOWN"
expect 0 "inspect padded" inspect slot.img; has out "image_ok set (confirmed)"; has out "bytes of slot padding/trailer"
expect 0 "inspect --json" inspect --json -k k.pub.pem fw.img
"${PYTHON:-python3}" - out "$(stat -c %s fw.img)" <<'PY' && ok || bad "inspect --json content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["status"] == "ok" and j["version"] == "1.2.3+4", j
assert j["header"]["img_size"] == 5000 and j["image_size"] == int(sys.argv[2])
assert j["security_counter"] == 7 and j["product"] == "acme-x1" and j["hw_rev"] == ["revA", "revB"]
assert len(j["sha256"]) == 64 and len(j["key_hash"]) == 64 and j["hash_ok"] is True
assert j["signature"] == {"present": True, "checked": True, "valid": True, "key": "k.pub.pem"}, j["signature"]
assert [t["name"] for t in j["tlvs"]] == ["SEC_CNT", "PRODUCT", "HW_REV", "SHA256", "KEYHASH", "ECDSA_SIG"]
assert [t.get("value") for t in j["tlvs"]][:4] == [7, "acme-x1", "revA,revB", None], j["tlvs"]
PY
expect 1 "inspect --json tampered" inspect --json payload-flip.img
"${PYTHON:-python3}" -c 'import json,sys; j=json.load(open("out")); assert j["status"]=="error" and j["error"]["code"]=="OTA_ERR_HASH" and j["hash_ok"] is False' \
  && ok || bad "inspect --json of a tampered image"
expect 1 "inspect junk" inspect fw.bin; has err "OTA_ERR_MAGIC"
expect 1 "inspect --json junk" inspect --json fw.bin
"${PYTHON:-python3}" -c 'import json; j=json.load(open("out")); assert j["status"]=="error"' && ok || bad "inspect --json junk is not JSON"
expect 2 "inspect two images" inspect fw.img fw2.img

report cli
