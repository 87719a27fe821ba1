# windows.cmake — what the x86_64 Windows cross build (cmake/mingw-w64-x86_64.cmake) needs
# beyond the common CMakeLists.txt: the libraries under VKB_WIN_DEPS in place of pkg-config
# (same target names, so the library definitions stay shared), the platform's source swaps,
# and the Windows targets. Built: the runtime, the tokenizer, vkbridge.exe (every command
# but serve: h2o has no native Windows build, docs/WINDOWS.md) and the tests that run under
# wine (tests/test_windows.sh). vulkan-1.dll is opened at run time.
set(VKB_WIN_DEPS ${CMAKE_SOURCE_DIR}/build-win-deps/prefix CACHE PATH
    "jansson, utf8proc, Oniguruma and the Vulkan headers for Windows (tools/build-windows-deps.sh)")
if(NOT EXISTS ${VKB_WIN_DEPS}/lib/libjansson.a OR NOT EXISTS ${VKB_WIN_DEPS}/lib/libutf8proc.a
   OR NOT EXISTS ${VKB_WIN_DEPS}/lib/libonig.a)
  message(FATAL_ERROR "no Windows libraries in ${VKB_WIN_DEPS}: run tools/build-windows-deps.sh")
endif()
set(VULKAN_INCLUDE_DIR ${VKB_WIN_DEPS}/include CACHE PATH "Vulkan headers")
# C99 printf (%zu, %lld) from mingw-w64 rather than msvcrt's.
add_compile_definitions(__USE_MINGW_ANSI_STDIO=1)
# format(printf) means Microsoft's printf to gcc on this target, whose checks then reject the
# C99 formats those functions really get (vsnprintf is mingw's C99 one); the Linux build
# checks the same format strings.
add_compile_options(-Wno-format)

function(vkb_win_lib name)
  add_library(${name} INTERFACE IMPORTED)
  set_target_properties(${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${VKB_WIN_DEPS}/include
                        INTERFACE_LINK_LIBRARIES "${ARGN}")
endfunction()
vkb_win_lib(PkgConfig::JANSSON ${VKB_WIN_DEPS}/lib/libjansson.a)
vkb_win_lib(PkgConfig::UTF8PROC ${VKB_WIN_DEPS}/lib/libutf8proc.a)
set_property(TARGET PkgConfig::UTF8PROC PROPERTY INTERFACE_COMPILE_DEFINITIONS UTF8PROC_STATIC)
vkb_win_lib(PkgConfig::ONIG ${VKB_WIN_DEPS}/lib/libonig.a)
set_property(TARGET PkgConfig::ONIG PROPERTY INTERFACE_COMPILE_DEFINITIONS ONIG_STATIC)
# No OpenBLAS: the CPU backend's cblas_sgemm is runtime/cpu/fallback/sgemm.c.
add_library(vkb_sgemm_fallback STATIC ${CMAKE_SOURCE_DIR}/runtime/cpu/fallback/sgemm.c)
target_include_directories(vkb_sgemm_fallback PUBLIC ${CMAKE_SOURCE_DIR}/runtime/cpu/fallback)
vkb_win_lib(PkgConfig::OPENBLAS vkb_sgemm_fallback)
set_property(TARGET PkgConfig::OPENBLAS PROPERTY INTERFACE_INCLUDE_DIRECTORIES
             ${CMAKE_SOURCE_DIR}/runtime/cpu/fallback)
set_property(TARGET PkgConfig::OPENBLAS PROPERTY INTERFACE_COMPILE_DEFINITIONS VKB_SGEMM_FALLBACK)
# No pulls yet (runtime/hub/hub_win32.c says why), so neither libcurl nor OpenSSL.
vkb_win_lib(PkgConfig::CURL "")
vkb_win_lib(PkgConfig::OPENSSL "")
# Sources a *_win32.c file replaces (vkb_runtime_library drops them and every *_posix.c).
set(VKB_PLATFORM_REPLACED hub.c hub_http.c hub_hash.c)
# 64-bit off_t and st_size (safetensors files over 2 GiB). (Files open in binary mode by
# default: vkb_stdio_binary, called first in main, sets the C library's _fmode.)
# gmtime_r and localtime_r: mingw-w64 declares them (over gmtime_s) with this.
add_compile_definitions(_FILE_OFFSET_BITS=64 _POSIX_THREAD_SAFE_FUNCTIONS)
set(VKB_WIN_LINK -static)

# Called by CMakeLists.txt once the libraries exist; the service, the man page, the Debian
# package and the Linux test suite are not part of this build.
function(vkb_windows_targets)
  file(GLOB tools_src CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tools/*.c)
  list(FILTER tools_src EXCLUDE REGEX "/cmd_(serve|man)\\.c$")
  add_executable(vkbridge ${tools_src})
  target_include_directories(vkbridge PRIVATE ${CMAKE_SOURCE_DIR}/tools)
  target_compile_definitions(vkbridge PRIVATE VKB_VERSION="${PROJECT_VERSION}")
  target_link_libraries(vkbridge PRIVATE vkb_runtime vkb_tokenizer PkgConfig::OPENBLAS) # bench_ops
  # One self-contained .exe: libgcc and winpthreads linked in, nothing to ship beside it.
  target_link_options(vkbridge PRIVATE ${VKB_WIN_LINK})
  # vkbridge-service.exe: runs a command (wsl.exe ... vkbridge serve) as a Windows service.
  add_executable(vkbridge-service ${CMAKE_SOURCE_DIR}/tools/windows/vkbridge_service.c)
  target_link_options(vkbridge-service PRIVATE ${VKB_WIN_LINK})
  # The C tests that need neither the service nor the Linux binary, run by tests/test_windows.sh.
  add_library(vkb_wintestlib STATIC ${CMAKE_SOURCE_DIR}/tests/testlib.c)
  target_include_directories(vkb_wintestlib PUBLIC ${CMAKE_SOURCE_DIR}/tests)
  target_compile_definitions(vkb_wintestlib PUBLIC VKB_TESTDATA="../shared/testdata"
                             VKB_SOURCE_DIR="." VKB_BINARY="vkbridge.exe")
  foreach(name test_cpu_ops test_half)
    add_executable(${name} ${CMAKE_SOURCE_DIR}/tests/${name}.c)
    target_link_libraries(${name} PRIVATE vkb_wintestlib vkb_runtime vkb_tokenizer)
    target_link_options(${name} PRIVATE ${VKB_WIN_LINK})
  endforeach()
endfunction()
