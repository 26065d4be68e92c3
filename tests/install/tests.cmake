# Included by tests/CMakeLists.txt: install into a temporary prefix and
# build a consumer with find_package(evlog) and with pkg-config. Not in a
# sanitizer build: its consumer is built as users build theirs, without the
# sanitizer runtime the library would then need.
if(NOT EVLOG_SANITIZE)
  add_test(NAME core.install COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/install_test.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(core.install PROPERTIES TIMEOUT 300 LABELS core)
endif()
