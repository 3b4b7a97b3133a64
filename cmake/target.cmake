# The target build (included by the root CMakeLists.txt when CMAKE_CROSSCOMPILING, e.g. with
# -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi-cortex-m3.cmake): the device library, mbedTLS
# compiled for the target with the configuration in this directory, and programs linked against
# both (tests/target/: a bootloader, an HTTPS agent), so a missing symbol fails the build.
# No host parts (ports/host, tools, server, tests). docs/porting.md, "Building for your target".

option(OTAKIT_TARGET_TLS "Build the HTTPS client (otakit/tls.h) and mbedTLS's X.509 and TLS client" ON)
set(OTAKIT_MBEDTLS_CONFIG ${CMAKE_CURRENT_LIST_DIR}/mbedtls-config-otakit.h CACHE FILEPATH
    "mbedTLS configuration header (MBEDTLS_CONFIG_FILE) for the target")
set(OTAKIT_MBEDTLS_SOURCE_DIR "" CACHE PATH
    "mbedTLS 2.28 source tree to build for the target (empty: Debian's, from scripts/mbedtls-src.sh)")
set(OTAKIT_MBEDTLS_LIBS "" CACHE STRING
    "Your own mbedTLS for the target, already built (libraries in link order); skips building one")

add_library(otakit_mbedtls_config INTERFACE)
target_compile_definitions(otakit_mbedtls_config INTERFACE
  "MBEDTLS_CONFIG_FILE=\"${OTAKIT_MBEDTLS_CONFIG}\"" $<$<BOOL:${OTAKIT_TARGET_TLS}>:OTAKIT_MBEDTLS_TLS>
  ${OTAKIT_SIG_DEFS}) # the config enables what the selected signature algorithms need

if(OTAKIT_MBEDTLS_LIBS)
  # A prebuilt mbedTLS: its headers in MBEDTLS_INCLUDE, built with OTAKIT_MBEDTLS_CONFIG.
  if(NOT MBEDTLS_INCLUDE)
    message(FATAL_ERROR "OTAKIT_MBEDTLS_LIBS needs -DMBEDTLS_INCLUDE=<its include directory>")
  endif()
  target_link_libraries(otakit_mbedtls_config INTERFACE ${OTAKIT_MBEDTLS_LIBS})
else()
  if(NOT OTAKIT_MBEDTLS_SOURCE_DIR)
    execute_process(COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/mbedtls-src.sh
                    OUTPUT_VARIABLE src OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0 OR NOT EXISTS ${src}/include/mbedtls/version.h)
      message(FATAL_ERROR "scripts/mbedtls-src.sh failed; or set -DOTAKIT_MBEDTLS_SOURCE_DIR=<mbedTLS tree>")
    endif()
    set(OTAKIT_MBEDTLS_SOURCE_DIR ${src} CACHE PATH "mbedTLS source tree to build for the target" FORCE)
  endif()
  set(MBEDTLS_INCLUDE ${OTAKIT_MBEDTLS_SOURCE_DIR}/include)
  # Every library source; the configuration decides what each compiles to (most: nothing).
  file(GLOB mbedtls_srcs ${OTAKIT_MBEDTLS_SOURCE_DIR}/library/*.c)
  set(tls_srcs ${mbedtls_srcs})
  list(FILTER mbedtls_srcs EXCLUDE REGEX "/(ssl_[a-z0-9_]+|x509[a-z0-9_]*|net_sockets|debug|certs|pkcs11)\\.c$")
  list(REMOVE_ITEM tls_srcs ${mbedtls_srcs})
  # Third-party code: built as upstream builds it, not under otakit's -Werror set.
  add_library(otakit_mbedcrypto STATIC ${mbedtls_srcs})
  set_property(TARGET otakit_mbedcrypto PROPERTY COMPILE_OPTIONS -Wall)
  target_include_directories(otakit_mbedcrypto PUBLIC ${MBEDTLS_INCLUDE})
  target_link_libraries(otakit_mbedcrypto PUBLIC otakit_mbedtls_config)
  if(OTAKIT_TARGET_TLS)
    add_library(otakit_mbedtls STATIC ${tls_srcs})
    set_property(TARGET otakit_mbedtls PROPERTY COMPILE_OPTIONS -Wall)
    target_link_libraries(otakit_mbedtls PUBLIC otakit_mbedcrypto)
  endif()
endif()

add_subdirectory(device)
# Linked after otakit_device (link order): device -> [mbedtls ->] mbedcrypto.
if(TARGET otakit_mbedtls)
  target_link_libraries(otakit_device PUBLIC otakit_mbedtls otakit_mbedcrypto)
elseif(TARGET otakit_mbedcrypto)
  target_link_libraries(otakit_device PUBLIC otakit_mbedcrypto)
else()
  target_link_libraries(otakit_device PUBLIC otakit_mbedtls_config)
endif()

# The W5500 transport (ports/w5500): portable like the device library, built for the target too.
add_subdirectory(ports/w5500)

# Link checks (tests/target/): a bootloader, an HTTP update agent on a W5500 (no TCP/IP stack), and
# with the TLS client an HTTPS update agent, linked with newlib-nano, no startup files and no syscall
# stubs: whatever nobody provides fails the link.
set(link_checks boot boot_enc w5500)
if(OTAKIT_TARGET_TLS)
  list(APPEND link_checks agent)
endif()
foreach(prog ${link_checks})
  add_executable(otakit_link_${prog} ${CMAKE_SOURCE_DIR}/tests/target/link_${prog}.c
                 ${CMAKE_SOURCE_DIR}/tests/target/port_stub.c)
  target_link_libraries(otakit_link_${prog} PRIVATE otakit_device)
  if(prog STREQUAL w5500)
    target_link_libraries(otakit_link_${prog} PRIVATE otakit_port_w5500)
  endif()
  target_link_options(otakit_link_${prog} PRIVATE -nostartfiles -Wl,-e,reset_handler -Wl,-u,stub_vectors
                      -Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/otakit_link_${prog}.map)
  set_target_properties(otakit_link_${prog} PROPERTIES SUFFIX .elf)
endforeach()

# A board port that runs: the MPS2 AN385 (Cortex-M3) under QEMU, bootloader and application
# (ports/mps2-an385/; tests/qemu/ runs them).
option(OTAKIT_TARGET_MPS2 "Build the MPS2 AN385 board port (bootloader and application for QEMU)" ON)
if(OTAKIT_TARGET_MPS2)
  add_subdirectory(ports/mps2-an385)
endif()
