# `cmake --install`: the public headers, the four static libraries, an exported CMake package and
# pkg-config files, all relative to the install prefix so the tree can be moved:
#   include/otakit/*.h                      device, host (lib/), host port and W5500 port headers
#   lib/libotakit_{device,host,port_host,port_w5500}.a
#   lib/cmake/otakit/otakit{Config,ConfigVersion,Targets*}.cmake   find_package(otakit) ->
#                                           otakit::device, otakit::host, otakit::port_host,
#                                           otakit::port_w5500
#   lib/pkgconfig/otakit-device.pc          the device library alone
#   lib/pkgconfig/otakit-w5500.pc           the W5500 transport (Requires: otakit-device)
#   lib/pkgconfig/otakit.pc                 host + host port + device (Requires: otakit-device)
# tests/package/test_package.sh installs into a scratch prefix and builds a consumer both ways.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(OTAKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/otakit)

install(TARGETS otakit_device otakit_host otakit_port_host otakit_port_w5500 EXPORT otakitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY device/include/otakit lib/include/otakit ports/host/include/otakit ports/w5500/include/otakit
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(EXPORT otakitTargets NAMESPACE otakit:: DESTINATION ${OTAKIT_CMAKE_DIR})
configure_package_config_file(cmake/otakitConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/otakitConfig.cmake
                              INSTALL_DESTINATION ${OTAKIT_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/otakitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/otakitConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/otakitConfigVersion.cmake
        DESTINATION ${OTAKIT_CMAKE_DIR})

# pkg-config: prefix is found from the .pc file's own place (${pcfiledir}), so `cmake --install
# --prefix <anywhere>` gives working files without reconfiguring.
file(RELATIVE_PATH OTAKIT_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" OTAKIT_PC_TO_PREFIX "${OTAKIT_PC_TO_PREFIX}")
foreach(pc otakit otakit-device otakit-w5500)
  configure_file(cmake/${pc}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
