# Shared by the scripts.

# Install a Debian package: apt_install PACKAGE [WHY]
apt_install() {
    echo "installing $1 (Debian package)${2:+ $2}" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$1" >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq "$1" >/dev/null; fi
}

# Install the package that provides a command, if the command is missing: need COMMAND PACKAGE [WHY]
need() {
    command -v "$1" >/dev/null 2>&1 || apt_install "$2" "${3:-}"
}

# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
