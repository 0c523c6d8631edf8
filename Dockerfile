# syntax=docker/dockerfile:1
# The entra-exporter image: the release binary on a distroless base, nothing else.
#
#   docker build -t entra-exporter .
#   docker run --rm -p 9725:9725 entra-exporter --demo --web.listen-address 0.0.0.0:9725
#
# Build stage: the official Rust image of the toolchain the project builds with, on Debian
# bookworm like the final stage, so the binary links the glibc it runs with. It runs
# scripts/build-release.sh, the same script CI runs and smoke-tests (scripts/deploy/check.sh), so
# the image ships the build that was tested.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN bash scripts/build-release.sh \
    && install -D -m 0755 target/release/entra-exporter /out/entra-exporter

# Final stage: distroless "cc" rather than scratch. The binary is dynamically linked against
# glibc and libgcc_s (the Rust default on Linux); a static build would need the musl target and a
# musl C toolchain for the C and assembly parts of ring (TLS), i.e. extra toolchains and a second
# build that CI would not have tested. cc-debian12 has exactly glibc, libgcc, CA certificates
# and tzdata, no shell and no package manager. TLS roots: the exporter uses its bundled Mozilla
# roots (webpki-roots) plus graph.ca_file; the image's CA bundle is there for anything else.
#
# No HEALTHCHECK: distroless has no shell or curl to run one, and Kubernetes ignores it anyway.
# Probe the HTTP endpoints instead (the Helm chart does):
#   livenessProbe:  httpGet /healthz on port 9725 (200 while the process runs)
#   readinessProbe: httpGet /readyz  on port 9725 (200 once every collector polled once, or
#                   after web.ready_deadline, 2m by default)
FROM gcr.io/distroless/cc-debian12:nonroot

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="entra-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Microsoft Entra ID reports and activity logs, read from Microsoft Graph" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/entra-exporter/entra-exporter" \
      org.opencontainers.image.documentation="https://github.com/entra-exporter/entra-exporter/blob/main/README.md" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=build /out/entra-exporter /usr/local/bin/entra-exporter

# distroless's "nonroot" user, by number so that Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 9725
ENTRYPOINT ["/usr/local/bin/entra-exporter"]
