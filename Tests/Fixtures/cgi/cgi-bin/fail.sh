#!/bin/sh
# Writes to standard error and fails.
printf 'Content-Type: text/plain\r\n\r\npartial\n'
echo "first complaint" >&2
printf 'second complaint\r\nunterminated' >&2
exit 3
