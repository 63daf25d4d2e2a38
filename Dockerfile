# One image for every Parley process; the command picks the part (inference, api, agent, up),
# so it holds every process's extras (parley/process_needs.py says which needs which).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY parley parley
COPY inference_server inference_server
COPY agent agent
COPY api api
COPY bench bench
COPY web web
COPY prompts prompts
COPY supabase supabase
# CPU torch first, so nothing pulls the CUDA build; GPU images override TORCH_INDEX and CMAKE_ARGS.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DMTMD_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"
RUN pip install --no-cache-dir torch==2.13.0 --index-url ${TORCH_INDEX} \
    && CMAKE_ARGS="${LLAMA_CMAKE_ARGS}" pip install --no-cache-dir llama-cpp-python==0.3.36 \
    && pip install --no-cache-dir -e ".[inference,api,livekit]"
ENV PARLEY_DATA_DIR=/data
VOLUME /data
CMD ["parley", "up", "--host", "0.0.0.0"]
