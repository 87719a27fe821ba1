# install.cmake — `cmake --install build --prefix P` and the Debian package (cpack -G DEB).
# Included from the top-level CMakeLists.txt after the vkbridge target is defined.
#
#   P/bin/vkbridge
#   P/share/man/man1/vkbridge.1             written by the built binary (vkbridge man) from
#                                           its command tables and --help: cannot drift
#   P/lib/systemd/system/vkbridge.service   ExecStart and EnvironmentFile point into P
#   P/etc/vkbridge/vkbridge.env             (/etc/vkbridge/vkbridge.env when P is /usr)
#   P/share/doc/vkbridge/                   README.md, nginx.conf, OpenClaw examples
#
# The unit and the environment file are placed by install-time code, because the prefix is
# known only then (--prefix, or /usr when CPack stages the package).

set(VKB_MAN_PAGE ${CMAKE_BINARY_DIR}/vkbridge.1)
add_custom_command(
  OUTPUT ${VKB_MAN_PAGE}
  COMMAND $<TARGET_FILE:vkbridge> man ${VKB_MAN_PAGE}
  DEPENDS vkbridge
  COMMENT "vkbridge man > vkbridge.1")
add_custom_target(vkbridge_man ALL DEPENDS ${VKB_MAN_PAGE})

install(TARGETS vkbridge RUNTIME DESTINATION bin)
install(FILES ${VKB_MAN_PAGE} DESTINATION share/man/man1)
install(FILES README.md docs/deploy/nginx.conf docs/openclaw-local-service.json5
              docs/openclaw-hosts.json5
        DESTINATION share/doc/vkbridge)

set(VKB_DEPLOY ${CMAKE_SOURCE_DIR}/docs/deploy)
install(CODE "
  set(VKB_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  if(VKB_PREFIX STREQUAL \"/usr\")
    set(VKB_SYSCONFDIR /etc)
  else()
    set(VKB_SYSCONFDIR \"\${VKB_PREFIX}/etc\")
  endif()
  set(VKB_BINDIR \"\${VKB_PREFIX}/bin\")
  configure_file(\"${VKB_DEPLOY}/vkbridge.service.in\"
                 \"${CMAKE_BINARY_DIR}/install-unit/vkbridge.service\" @ONLY)
  file(INSTALL \"${CMAKE_BINARY_DIR}/install-unit/vkbridge.service\"
       DESTINATION \"\${VKB_PREFIX}/lib/systemd/system\")
  file(INSTALL \"${VKB_DEPLOY}/vkbridge.env\" DESTINATION \"\${VKB_SYSCONFDIR}/vkbridge\"
       PERMISSIONS OWNER_READ OWNER_WRITE)
")

# ---- Debian package: cpack -G DEB in the build folder ----
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vkbridge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "vkbridge maintainers <vkbridge@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "text embeddings and BERTScore over HTTP/2 on any GPU through Vulkan compute")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "vkbridge runs transformer encoders (BERT, RoBERTa, XLM-R) on any GPU through Vulkan\ncompute, or on the CPU, and serves the OpenClaw GPU bridge's HTTP API: /embed,\n/bertscore, OpenAI /v1/embeddings. Installs the vkbridge command, its man page and\nthe systemd unit vkbridge.service (configured in /etc/vkbridge/vkbridge.env).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr) # the prefix install-time code sees (with CPACK_SET_DESTDIR)
set(CPACK_SET_DESTDIR ON) # absolute paths (/etc) land in the package, not on this machine
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# Depends: what dpkg-shlibdeps finds the binary linked against (h2o, jansson, utf8proc,
# OpenBLAS, curl, OpenSSL, libc), plus the Vulkan loader, which vkbridge opens at run time
# (dlopen, so shlibdeps cannot see it). A Vulkan driver is recommended, not required: without
# one vkbridge runs on its CPU backend.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libvulkan1")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mesa-vulkan-drivers")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${VKB_DEPLOY}/debian/conffiles;${VKB_DEPLOY}/debian/postinst;${VKB_DEPLOY}/debian/prerm;${VKB_DEPLOY}/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
