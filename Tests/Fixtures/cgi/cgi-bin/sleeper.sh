#!/bin/sh
# Prints its pid and its background child's, then waits silently for a long time.
sleep 60 &
printf 'Content-Type: text/plain\r\n\r\npid=%s child=%s\n' "$$" "$!"
wait
