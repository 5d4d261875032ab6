# cmake -DINPUT=file -DOUTPUT=file.cpp -DSYMBOL=name -P embed-binary.cmake
# Writes `extern const unsigned char name[]; extern const size_t name_size;`
# holding INPUT's bytes (a cubin built at build time, embedded in a library).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE "${OUTPUT}" "// Generated from ${INPUT} by scripts/embed-binary.cmake.\n#include <cstddef>\nextern const unsigned char ${SYMBOL}[] = {${body}};\nextern const size_t ${SYMBOL}_size = ${bytes};\n")
