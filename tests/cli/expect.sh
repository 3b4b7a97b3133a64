# The otakit CLI as a user runs it, checked: sourced by tests/cli/test_cli.sh and the interop tests
# (tests/image/interop/), with $otakit set to the CLI. Moves into a scratch directory removed on exit.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# run ARGS...: runs otakit with args, keeps stdout in out, stderr in err, exit code in rc
run() { "$otakit" "$@" >out 2>err; rc=$?; }
# expect WANT_RC DESCRIPTION ARGS...
expect() {
  local want=$1 desc=$2; shift 2
  run "$@"
  if [[ $rc == "$want" ]]; then ok; else bad "$desc: exit $rc, want $want ($*)"; sed 's/^/    /' out err; fi
}
has() { grep -qF -- "$2" "$1" && ok || { bad "$1 lacks '$2'"; sed 's/^/    /' "$1"; }; }
same() { cmp -s "$1" "$2" && ok || bad "$3: $1 and $2 differ"; }
flip() { # flip FILE OFFSET: xor one byte with 0x01 in place
  local b; b=$(xxd -s "$2" -l 1 -p "$1"); printf -v b '%02x' $((0x$b ^ 1))
  printf "\\x$b" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# report NAME: the counts; the script's last command, so its status is the test's
report() { echo "$1: $pass passed, $fail failed"; [[ $fail == 0 ]]; }
