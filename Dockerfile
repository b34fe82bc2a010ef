# syntax=docker/dockerfile:1
# Multi-arch by cross-compilation on the build platform: DuckDB needs cgo, so each target
# gets Debian's matching C/C++ cross toolchain instead of emulating the whole build.
# -tags nodemo leaves out spout demo and the fake AWS it serves; .ci/run builds with the
# same tags and checks the fake is not linked in.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-x86-64-linux-gnu g++-x86-64-linux-gnu \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN set -eu; \
    case "$TARGETARCH" in \
      arm64) export CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ ;; \
      amd64) export CC=x86_64-linux-gnu-gcc CXX=x86_64-linux-gnu-g++ ;; \
      *) echo "unsupported TARGETARCH $TARGETARCH" >&2; exit 1 ;; \
    esac; \
    CGO_ENABLED=1 GOOS=linux GOARCH=$TARGETARCH \
      go build -tags nodemo -trimpath -ldflags "-s -w" -o /out/spout ./cmd/spout

# distroless/cc: glibc + libstdc++ for DuckDB, CA certificates, no shell, non-root.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/spout /spout
USER nonroot:nonroot
ENTRYPOINT ["/spout", "run"]
