# Project-wide compile settings and the two helpers every module uses.

set(RAIN_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)
# g++ 12 at -O2/-O3 reports -Wrestrict on ordinary std::string concatenation inside libstdc++
# (GCC PR 105651, fixed in 13). A false positive in the library, not our code: off for g++ < 13.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND RAIN_WARNINGS -Wno-restrict)
endif()

if(RAIN_SANITIZE)
  set(RAIN_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
  add_compile_options(${RAIN_SANITIZER_FLAGS})
  add_link_options(${RAIN_SANITIZER_FLAGS})
endif()

# rain_add_library(NAME alias SOURCES ... [DEPS ...] [PUBLIC_DEPS ...])
# A module library: public headers in <module>/include, private code in <module>/src.
function(rain_add_library name)
  cmake_parse_arguments(ARG "" "ALIAS" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  if(ARG_ALIAS)
    add_library(${ARG_ALIAS} ALIAS ${name})
  endif()
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                     PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${RAIN_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} PUBLIC ${ARG_PUBLIC_DEPS})
endfunction()

# rain_add_test(NAME SOURCES ... [DEPS ...] [LABELS ...] [TIMEOUT s])
# A GoogleTest binary registered with CTest, one CTest entry per binary (keeps CTest fast).
function(rain_add_test name)
  if(NOT RAIN_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${RAIN_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()

# rain_simd_sources(TARGET FLAGS files...)
# Instruction-set specific files get their flags per file, never per target (STYLE.md).
function(rain_simd_sources flags)
  set_source_files_properties(${ARGN} PROPERTIES COMPILE_OPTIONS "${flags}")
endfunction()
