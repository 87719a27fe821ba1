# Turns one SPIR-V binary into a C array: const uint32_t vkb_spv_NAME[]; size_t vkb_spv_NAME_size (bytes).
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR nbytes "${nhex} / 2")
# SPIR-V is a stream of little-endian 32-bit words: regroup the bytes into words.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${hex}")
file(WRITE ${OUT} "/* generated from ${NAME}.spv by cmake/spv_to_c.cmake */\n#include <stddef.h>\n#include <stdint.h>\n"
  "const uint32_t vkb_spv_${NAME}[] = {${words}};\nconst size_t vkb_spv_${NAME}_size = ${nbytes};\n")
