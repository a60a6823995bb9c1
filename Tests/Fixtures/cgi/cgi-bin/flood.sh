#!/bin/sh
# Writes QUERY_STRING MiB (default 256) as fast as the pipe takes them.
printf 'Content-Type: application/octet-stream\r\n\r\n'
exec head -c "$(( ${QUERY_STRING:-256} * 1048576 ))" /dev/zero
