#!/bin/sh
# Echoes what a CGI script receives: arguments, user, environment (sorted), standard input.
printf 'Content-Type: text/plain\r\n\r\n'
echo "argc=$#"
for argument in "$@"; do echo "arg=[$argument]"; done
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"
echo "--- environment"
env | LC_ALL=C sort
echo "--- stdin"
cat
