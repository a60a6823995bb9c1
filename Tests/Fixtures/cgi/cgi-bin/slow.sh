#!/bin/sh
# Sleeps QUERY_STRING seconds (default 1), then answers with its pid.
printf 'Content-Type: text/plain\r\n\r\n'
sleep "${QUERY_STRING:-1}"
echo "slept pid=$$"
