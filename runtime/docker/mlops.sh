#!/bin/sh
# `mlops` inside the runtime image. Kubernetes `command:` replaces the image ENTRYPOINT, so this wrapper
# is what puts tini at PID 1 (signal forwarding, zombie reaping) whichever way the container starts.
if [ "$$" = 1 ]; then
  exec /usr/bin/tini -g -- node /app/bin/mlops.js "$@"
fi
exec node /app/bin/mlops.js "$@"
