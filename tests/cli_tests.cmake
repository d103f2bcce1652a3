message(STATUS "cli tests placeholder")
