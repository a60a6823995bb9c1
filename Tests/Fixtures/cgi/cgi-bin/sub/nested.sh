#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nnested PATH_INFO=%s SCRIPT_NAME=%s\n' "$PATH_INFO" "$SCRIPT_NAME"
