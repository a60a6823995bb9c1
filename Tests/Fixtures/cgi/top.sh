#!/bin/sh
# Outside every CGI directory: must never run as a script.
printf 'Content-Type: text/plain\r\n\r\nTOP-LEVEL SCRIPT RAN\n'
