# Sourced by bench/server.sh and bench/fleet.sh, which measure otakit-server against nginx serving
# the same answers in the same run. After `source`: $work (a scratch directory nginx's workers can
# read, removed on exit with both servers), and the helpers below. Needs $bin (a build directory).
work=$(mktemp -d)
chmod 755 "$work" # nginx workers run unprivileged and must read the files
spid= npid=
cleanup() {
  [[ -n $spid ]] && kill "$spid" 2>/dev/null
  [[ -n $npid ]] && kill "$npid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server [OPTIONS...]: otakit-server on a free port with data in $work/data ($sport, $spid),
# and OTAKIT_SERVER_URL / OTAKIT_TOKEN (the admin token) exported for the CLI.
start_server() {
  sport=$(free_port)
  "$bin/server/otakit-server" --listen 127.0.0.1:$sport --data "$work/data" --threads "$(nproc)" "$@" \
    2>"$work/server.log" &
  spid=$!
  for _ in $(seq 100); do grep -q 'otakit-server started' "$work/server.log" 2>/dev/null && break; sleep 0.1; done
  export OTAKIT_SERVER_URL=http://127.0.0.1:$sport OTAKIT_TOKEN=$(cat "$work/data/admin.token")
}

# make_product ID: a signing key ($work/k.pem, $work/k.pub) and product ID trusting it ($owner,
# $enroll: its owner and enrollment tokens).
make_product() {
  "$bin/tools/otakit" keygen -k "$work/k.pem" --pub "$work/k.pub" >/dev/null
  local prod
  prod=$("$bin/tools/otakit" product create --json --id "$1" --name "$1" --key "$work/k.pub")
  owner=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["owner_token"])' "$prod")
  enroll=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["enroll_token"])' "$prod")
}

# start_nginx HTTP_DIRECTIVES: nginx with one worker per core serving $work/www on a free port
# ($nport, $npid), with HTTP_DIRECTIVES in its http block; returns once it answers.
start_nginx() {
  nport=$(free_port)
  mkdir -p "$work/www" "$work/nginx"
  cat > "$work/nginx.conf" <<CONF
worker_processes $(nproc);
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off; $1
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nport; root $work/www; }
}
CONF
  nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' &
  npid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nport/" && break; sleep 0.1; done
}
