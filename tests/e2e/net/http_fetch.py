# python3 http.server in a thread, fetched with urllib over 127.0.0.1 or ::1.
import http.server, os, socket, sys, tempfile, threading, urllib.request

fam = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
host = '::1' if fam == socket.AF_INET6 else '127.0.0.1'
d = tempfile.mkdtemp()
with open(os.path.join(d, 'f.txt'), 'w') as f:
    f.write('line\n' * 20000)

class Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=d, **k)
    def log_message(self, *a):
        pass

class Server(http.server.ThreadingHTTPServer):
    address_family = fam

srv = Server((host, 0), Quiet)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = 'http://%s:%d/' % ('[::1]' if fam == socket.AF_INET6 else host, srv.server_address[1])
for name in ['f.txt', 'missing']:
    try:
        r = urllib.request.urlopen(url + name)
        body = r.read()
        print(name, r.status, len(body), body.count(b'\n'))
    except urllib.error.HTTPError as e:
        print(name, e.code)
srv.shutdown()
