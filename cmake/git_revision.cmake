# cmake -DSRC=... -DOUT=... -P git_revision.cmake: writes OUT, a header
# defining PTFS_GIT_REVISION (the commit the build is made from, "+dirty"
# with uncommitted changes, "unknown" outside a git checkout), rewriting it
# only when that changes, so --version is right after every build without
# recompiling the daemon each time.
execute_process(COMMAND git -C "${SRC}" rev-parse --short=12 HEAD
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0 OR rev STREQUAL "")
  set(rev "unknown")
else()
  execute_process(COMMAND git -C "${SRC}" diff-index --quiet HEAD --
                  RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    string(APPEND rev "+dirty")
  endif()
endif()
set(text "#define PTFS_GIT_REVISION \"${rev}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
