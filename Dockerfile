# Path-GPTomic dashboard, CPU-only image.
#   docker build -t pathgptomic . && docker run -p 8501:8501 pathgptomic
# Opens on the embedded demo (synthetic cohort + models/demo); nothing is downloaded at run time.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    PATHGPTOMIC_DATA_DIR=/data \
    PATHGPTOMIC_CACHE_DIR=/data/cache

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# CPU builds of the pinned torch/torchvision first (the default wheels carry the CUDA stack, ~2.5 GB more).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.14.1 torchvision==0.29.1
COPY . .
RUN pip install -r requirements.txt \
    && useradd --create-home --uid 1000 app && mkdir -p /data && chown -R app /data /app
USER app

# Job store, trained bundles and feature cache live in /data (mount a volume to keep them).
# Slides too big to upload: mount them read-only and set PATHGPTOMIC_SLIDE_ROOT=/slides.
VOLUME ["/data"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl --fail http://localhost:8501/_stcore/health || exit 1
CMD ["streamlit", "run", "dashboard/app.py", "--server.port=8501", "--server.address=0.0.0.0"]
