#!/bin/sh
# Reads its whole input slowly and answers with the number of bytes and their checksum.
sleep 0.2
printf 'Content-Type: text/plain\r\n\r\n'
cksum
