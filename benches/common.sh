# Sourced by benches/cpu_per_call.sh and benches/cpu_split.sh: free ports, waiting for a
# listener, and the nginx that forwards to the demo ERP as the proxy's yardstick.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# nginx_conf DIR ERP_PORT LISTEN_PORT: DIR/nginx.conf, one worker, no access log, upstream
# keep-alive, everything forwarded to the ERP.
nginx_conf() {
    cat > "$1/nginx.conf" <<NG
worker_processes 1; master_process off; daemon off; pid $1/nginx.pid; error_log $1/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $1/body; proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/f; uwsgi_temp_path $1/u; scgi_temp_path $1/s;
  upstream erp { server 127.0.0.1:$2; keepalive 128; }
  server { listen 127.0.0.1:$3; location / { proxy_pass http://erp; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NG
}
