#!/usr/bin/env python3
"""Prints a base port B such that B .. B+COUNT-1 are all free on loopback.

Chosen below 32768, out of the kernel's ephemeral range, so that no outgoing
connection takes one between this check and the node's bind.
Usage: scripts/free-ports.py COUNT
"""
import random
import socket
import sys

count = int(sys.argv[1])
while True:
    base = random.randint(20000, 32000 - count)
    ok = True
    for i in range(count):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", base + i))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(base)
        break
