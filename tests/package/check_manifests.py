#!/usr/bin/env python3
"""The MCU build-system manifests against the tree, so they cannot rot.

device/CMakeLists.txt's add_library(otakit_device ...) and ports/w5500/CMakeLists.txt's
add_library(otakit_port_w5500 ...) (the W5500 transport, shipped beside the library) are the one
source list. Each manifest must list exactly those sources (adding a .c to either without updating
the manifests fails here), every path it names must exist, its include dirs must be device/include
and ports/w5500/include (public) and device/ (private, the internal headers of
device/core/README.md), and its version must be the project's:
  library.json                         PlatformIO: build.srcDir (the root), build.srcFilter,
                                       includeDir (device/include), flags (-I the other two)
  packaging/esp-idf/otakit/            ESP-IDF: idf_component_register(SRCS/INCLUDE_DIRS/PRIV_INCLUDE_DIRS),
                                       idf_component.yml
  packaging/arduino/                   Arduino: make-library.sh is run and the src/ it assembles is
                                       compared (and every quoted #include in it must resolve there)
  zephyr/module.yml                    Zephyr: build.cmake's CMakeLists.txt, build.kconfig
Usage: check_manifests.py [repository root]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []


def fail(msg):
    failures.append(msg)


def rel(path):
    return os.path.relpath(os.path.normpath(path), ROOT)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def cmake_call(text, name):
    """The arguments of the first name(...) call in CMake text, comments removed, as words."""
    text = re.sub(r"#[^\n]*", "", text)
    m = re.search(r"\b%s\s*\(([^)]*)\)" % re.escape(name), text)
    if not m:
        return None
    return [w.strip('"') for w in m.group(1).split()]


def compare(what, listed, want):
    listed = list(listed)
    dups = sorted({f for f in listed if listed.count(f) > 1})
    if dups:
        fail("%s: listed twice: %s" % (what, " ".join(dups)))
    missing, extra = sorted(set(want) - set(listed)), sorted(set(listed) - set(want))
    if missing:
        fail("%s: missing sources of device/ or ports/w5500/CMakeLists.txt: %s" % (what, " ".join(missing)))
    if extra:
        fail("%s: sources not in device/ or ports/w5500/CMakeLists.txt: %s" % (what, " ".join(extra)))
    for f in listed:
        if not os.path.isfile(os.path.join(ROOT, f)):
            fail("%s: no such file: %s" % (what, f))


def expect(what, got, want):
    if got != want:
        fail("%s: %r, want %r" % (what, got, want))


# The one list, and the project version.
args = cmake_call(read("device/CMakeLists.txt"), "add_library")
if not args or args[:2] != ["otakit_device", "STATIC"]:
    sys.exit("check_manifests: no add_library(otakit_device STATIC ...) in device/CMakeLists.txt")
SOURCES = ["device/" + s for s in args[2:]]
# The W5500 transport: portable like the library, in every manifest beside it.
w = cmake_call(read("ports/w5500/CMakeLists.txt"), "add_library")
if not w or w[:2] != ["otakit_port_w5500", "STATIC"]:
    sys.exit("check_manifests: no add_library(otakit_port_w5500 STATIC ...) in ports/w5500/CMakeLists.txt")
W5500 = ["ports/w5500/" + s for s in w[2:]]
PUBLIC_INC = ["device/include", "ports/w5500/include"]
# Sources added on a condition (net/tls.c: the HTTPS client, left out of a target build without TLS)
# are part of the library the manifests ship.
extra = cmake_call(read("device/CMakeLists.txt"), "target_sources")
if extra and extra[0] == "otakit_device":
    SOURCES += ["device/" + s for s in extra[1:] if s not in ("PRIVATE", "PUBLIC", "INTERFACE")]
project = cmake_call(read("CMakeLists.txt"), "project")
VERSION = project[project.index("VERSION") + 1]
for f in SOURCES:
    if not os.path.isfile(os.path.join(ROOT, f)):
        fail("device/CMakeLists.txt: no such file: %s" % f)
SOURCES += W5500

# PlatformIO: library.json at the root of the library (the repository).
lj = json.loads(read("library.json"))
b = lj.get("build", {})
expect("library.json version", lj.get("version"), VERSION)
expect("library.json build.srcDir", b.get("srcDir"), ".")
expect("library.json build.includeDir", b.get("includeDir"), "device/include")
for flag in ("-I device", "-I ports/w5500/include"):
    if flag not in b.get("flags", []):
        fail("library.json build.flags: no '%s'" % flag)
filt = b.get("srcFilter", [])
if filt[:1] != ["-<*>"] or not all(re.fullmatch(r"\+<[^*?<>]+>", f) for f in filt[1:]):
    fail("library.json build.srcFilter: must be '-<*>' then one '+<file>' per source, got %r" % filt[:3])
compare("library.json srcFilter", [f[2:-1] for f in filt[1:]], SOURCES)

# ESP-IDF: the component directory packaging/esp-idf/otakit/.
comp = "packaging/esp-idf/otakit"
words = cmake_call(read(comp + "/CMakeLists.txt"), "idf_component_register") or []
groups, key = {}, None
for w in words:
    if w in ("SRCS", "INCLUDE_DIRS", "PRIV_INCLUDE_DIRS", "REQUIRES", "PRIV_REQUIRES"):
        key = w
        groups[key] = []
    elif key:
        groups[key].append(w)
resolve = lambda p: rel(os.path.join(ROOT, comp, p))
compare(comp + "/CMakeLists.txt SRCS", [resolve(p) for p in groups.get("SRCS", [])], SOURCES)
expect(comp + " INCLUDE_DIRS", [resolve(p) for p in groups.get("INCLUDE_DIRS", [])], PUBLIC_INC)
expect(comp + " PRIV_INCLUDE_DIRS", [resolve(p) for p in groups.get("PRIV_INCLUDE_DIRS", [])], ["device"])
expect(comp + " REQUIRES", groups.get("REQUIRES"), ["mbedtls"])
idf = yaml.safe_load(read(comp + "/idf_component.yml"))
expect(comp + "/idf_component.yml version", str(idf.get("version")), VERSION)

# Zephyr: zephyr/module.yml at the root, naming its CMake directory and Kconfig.
mod = yaml.safe_load(read("zephyr/module.yml"))
build = mod.get("build", {})
cmake_dir, kconfig = build.get("cmake"), build.get("kconfig")
if not cmake_dir or not os.path.isfile(os.path.join(ROOT, cmake_dir, "CMakeLists.txt")):
    fail("zephyr/module.yml build.cmake: %r has no CMakeLists.txt" % cmake_dir)
else:
    zc = read(os.path.join(cmake_dir, "CMakeLists.txt"))
    zfix = lambda p: p.replace("${OTAKIT_DIR}/", "")
    if "set(OTAKIT_DIR ${ZEPHYR_CURRENT_MODULE_DIR})" not in zc:
        fail("zephyr CMakeLists.txt: OTAKIT_DIR must be ${ZEPHYR_CURRENT_MODULE_DIR}")
    compare("zephyr zephyr_library_sources", [zfix(p) for p in cmake_call(zc, "zephyr_library_sources") or []],
            SOURCES)
    expect("zephyr zephyr_include_directories", [zfix(p) for p in cmake_call(zc, "zephyr_include_directories") or []],
           PUBLIC_INC)
    expect("zephyr zephyr_library_include_directories",
           [zfix(p) for p in cmake_call(zc, "zephyr_library_include_directories") or []], ["device"])
if not kconfig or not os.path.isfile(os.path.join(ROOT, kconfig)) or "config OTAKIT" not in read(kconfig):
    fail("zephyr/module.yml build.kconfig: %r missing or without 'config OTAKIT'" % kconfig)

# Arduino: assemble the library and look at what it holds.
props = dict(l.split("=", 1) for l in read("packaging/arduino/library.properties").splitlines()
             if "=" in l and not l.startswith("#"))
expect("library.properties version", props.get("version"), VERSION)
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "otakit")
    subprocess.run(["bash", os.path.join(ROOT, "packaging/arduino/make-library.sh"), out], check=True)
    src = os.path.join(out, "src")
    files = [os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs]
    compare("arduino src/*.c", [f if f.startswith("ports/") else "device/" + f for f in files if f.endswith(".c")],
            SOURCES)
    public = sorted(h for d in PUBLIC_INC for h in os.listdir(os.path.join(ROOT, d, "otakit")))
    expect("arduino src/otakit/", sorted(os.listdir(os.path.join(src, "otakit"))), public)
    for inc in props.get("includes", "").split(","):
        if not os.path.isfile(os.path.join(src, inc)):
            fail("library.properties includes=%s: not in src/" % inc)
    for f in files:
        for name in re.findall(r'^\s*#\s*include\s+"([^"]+)"', open(os.path.join(src, f)).read(), re.M):
            if not any(os.path.isfile(os.path.join(d, name)) for d in (os.path.join(src, os.path.dirname(f)), src)):
                fail("arduino: src/%s includes \"%s\", not in the assembled library" % (f, name))

if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print("ok: library.json, ESP-IDF, Zephyr and Arduino manifests list the %d device and W5500 sources" % len(SOURCES))
