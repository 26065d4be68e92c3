# Included by tests/CMakeLists.txt: install into a temporary prefix and
# build a consumer with find_package(evlog) and with pkg-config.
add_test(NAME core.install COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/install_test.sh ${PROJECT_BINARY_DIR})
set_tests_properties(core.install PROPERTIES TIMEOUT 300 LABELS core)
