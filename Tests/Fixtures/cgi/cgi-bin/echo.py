# No #! line: this runs only because .py scripts are given to python3.
import json, os, sys
body = sys.stdin.buffer.read()
sys.stdout.write("Content-Type: application/json\r\n\r\n")
sys.stdout.write(json.dumps({"argv": sys.argv[1:], "env": dict(os.environ), "stdin": body.decode("latin-1"),
                             "uid": os.getuid()}, sort_keys=True))
