# The asan and ci presets' first and last test: DIR is where AddressSanitizer
# and LeakSanitizer write their reports (ASAN_OPTIONS=log_path, one file per
# process). MODE=clean empties it before the tests; MODE=check fails, with
# every report, if any process of the run wrote one.
if(MODE STREQUAL "clean")
  file(REMOVE_RECURSE "${DIR}")
  file(MAKE_DIRECTORY "${DIR}")
  return()
endif()
file(GLOB reports "${DIR}/*")
if(NOT reports)
  message(STATUS "no sanitizer report in ${DIR}")
  return()
endif()
list(LENGTH reports n)
foreach(r IN LISTS reports)
  file(READ "${r}" text)
  message("==== ${r}\n${text}")
endforeach()
message(FATAL_ERROR "${n} sanitizer report(s) in ${DIR}: a memory error or a leak in a process the tests ran (above)")
