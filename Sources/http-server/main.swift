print("http-server: not yet")
