#!/bin/sh
# For the parsed output mode: the response described by QUERY_STRING.
case "$QUERY_STRING" in
  notfound) printf 'Status: 404 Gone Fishing\r\nContent-Type: text/plain\r\n\r\nnot here\n' ;;
  redirect) printf 'Location: http://example.com/elsewhere\r\n\r\n' ;;
  length)   printf 'Content-Type: text/plain\r\nContent-Length: 6\r\n\r\nsized\n' ;;
  chunked)  printf 'Content-Type: text/plain\r\nX-Script: yes\r\n\r\n'; printf 'one\n'; sleep 0.1; printf 'two\n' ;;
  nolf)     printf 'Content-Type: text/plain\n\nbare LF\n' ;;
  malformed) printf 'this is not a header\r\n\r\nbody\n' ;;
  premature) printf 'Content-Type: text/plain\r\n' ;;
  *)        printf 'Content-Type: text/plain\r\n\r\ndefault\n' ;;
esac
