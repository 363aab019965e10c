"""Faults in the runtime: a GPU provider that cannot start or fails mid-run, a model that fails on the CPU
too, and models that return NaN or infinity. Each job falls back and says why, or fails with a message;
none returns a black picture as a success.

No GPU runs here, so the GPU is played by a subclass of onnxruntime's own InferenceSession that fails
where onnxruntime-gpu fails (session creation on a machine without the CUDA libraries; a kernel error
during a run), with onnxruntime's exception types and messages; everything else is the real runtime,
including its Python fallback code, which the tests show Atelier turns off.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from atelier.core.cancel import CancelToken
from atelier.core.errors import AtelierError, PackError
from atelier.core.requests.lineart import LineArtRequest
from atelier.core.requests.sketch import SketchRequest
from atelier.core.settings import Settings
from atelier.engine.offline_runtime import ort
from atelier.engine.packs import discover, read_manifest
from atelier.engine.providers import CPU, ort_session
from atelier.engine.runner import Engine
from atelier.engine.sessions import PoolConfig, SessionPool
from tests.diffusion_builders import write_tiny_clip_tokenizer
from tests.onnx_builders import write_pack

CUDA = "CUDAExecutionProvider"
EPFail = ort.capi.onnxruntime_pybind11_state.EPFail
# What onnxruntime-gpu raises when its CUDA provider cannot load (onnxruntime_pybind_state.cc): the reason
# comes after a long C++ source location and signature.
CUDA_LOAD_ERROR = (
    "/onnxruntime_src/onnxruntime/python/onnxruntime_pybind_state.cc:1083 "
    "std::unique_ptr<onnxruntime::IExecutionProvider> onnxruntime::python::CreateExecutionProviderInstance("
    "const onnxruntime::SessionOptions&, const std::string&, const onnxruntime::ProviderOptionsMap&) "
    "CUDA_PATH is set but CUDA wasnt able to be loaded. Please install the correct version of CUDA and cuDNN "
    "as mentioned in the GPU requirements page, make sure they're in the PATH, and that your GPU is supported."
)
CUDA_RUN_ERROR = (
    "[ONNXRuntimeError] : 11 : EP_FAIL : Non-zero status code returned while running Conv node. Name:'/Conv' "
    "Status Message: CUDA error cudaErrorIllegalAddress:an illegal memory access was encountered"
)


def provider_names(providers: Any) -> list[str]:
    return [p[0] if isinstance(p, tuple) else p for p in providers or []]


class CudaThatCannotLoad(ort.InferenceSession):
    """onnxruntime-gpu without its CUDA libraries: asking for CUDA raises at session creation."""

    def _create_inference_session(self, providers: Any, provider_options: Any, disabled_optimizers: Any = None) -> None:
        if CUDA in provider_names(providers):
            # onnxruntime picks its fallback first and fails later, in initialize_session: the same state.
            self._fallback_providers = [CPU]
            raise RuntimeError(CUDA_LOAD_ERROR)
        super()._create_inference_session(providers, provider_options, disabled_optimizers)


class _RunsThatFail:
    """The C session of a CUDA session whose kernels fail: metadata works, every run raises EPFail."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def run(self, *args: Any) -> Any:
        raise EPFail(CUDA_RUN_ERROR)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class CudaThatFailsMidRun(ort.InferenceSession):
    """A session CUDA accepted (it reports CUDA first) whose runs then fail, as with a driver fault."""

    def _create_inference_session(self, providers: Any, provider_options: Any, disabled_optimizers: Any = None) -> None:
        super()._create_inference_session([CPU], None, disabled_optimizers)
        if CUDA in provider_names(providers):
            self._sess = _RunsThatFail(self._sess)
            self._providers = [CUDA, CPU]


def gpu_pool(session_class: type[Any]) -> SessionPool:
    return SessionPool(
        config=lambda: PoolConfig(device="auto", threads=1),
        available=lambda: [CUDA, CPU],
        factory=functools.partial(ort_session, session_class=session_class),
    )


def square_picture() -> np.ndarray:
    image = np.full((32, 32, 3), 255, np.uint8)
    image[8:24, 8:24] = 20
    return image


def test_a_gpu_that_cannot_start_falls_back_to_the_cpu_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    engine = Engine(Settings(threads=1), pool=gpu_pool(CudaThatCannotLoad))
    result = engine.run_to_end(LineArtRequest(image=square_picture()))
    assert result.device.provider == CPU
    assert result.device.fallbacks[0].startswith("GPU (CUDA): could not start (CUDA_PATH is set but CUDA wasnt")
    assert result.lines[16, 8] < 128 and result.lines[2, 2] > 250  # a real tracing, on the CPU
    assert capsys.readouterr().out == ""  # onnxruntime's own fallback prints to stdout; it is off


def test_onnxruntime_left_to_itself_would_hide_that_gpu_failure(capsys: pytest.CaptureFixture[str]) -> None:
    """The stand-in fails inside onnxruntime's real Python code: with its fallback on (the default), the
    session silently comes up on the CPU and the reason goes to stdout. That is why Atelier turns it off."""
    path = str(read_manifest(Path(__file__).resolve().parents[2] / "models" / "lineart").component_path("model"))
    session = CudaThatCannotLoad(path, providers=[CUDA, CPU])
    assert session.get_providers() == [CPU]
    assert "EP Error" in capsys.readouterr().out


def test_a_gpu_failing_during_a_run_is_retried_on_the_cpu_and_said(capsys: pytest.CaptureFixture[str]) -> None:
    pool = gpu_pool(CudaThatFailsMidRun)
    engine = Engine(Settings(threads=1), pool=pool)
    result = engine.run_to_end(LineArtRequest(image=square_picture()))
    assert result.device.provider == CPU
    note = result.device.fallbacks[-1]
    assert note.startswith("GPU (CUDA): failed during the run ([ONNXRuntimeError] : 11 : EP_FAIL")
    assert "cudaErrorIllegalAddress" in note and note.endswith("retried on CPU")
    assert CUDA in pool.degraded.all()  # the next job does not try CUDA again, and says so
    again = engine.run_to_end(LineArtRequest(image=square_picture()))
    assert again.device.provider == CPU
    assert any("disabled after an earlier failure" in f for f in again.device.fallbacks)
    assert np.array_equal(again.lines, result.lines)
    assert capsys.readouterr().out == ""


def test_onnxruntime_left_to_itself_would_report_cuda_for_a_cpu_run(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(read_manifest(Path(__file__).resolve().parents[2] / "models" / "lineart").component_path("model"))
    session = CudaThatFailsMidRun(path, providers=[CUDA, CPU])
    assert session.get_providers()[0] == CUDA
    feeds = {"image": np.ones((1, 3, 16, 16), np.float32), "sensitivity": np.array([0.5], np.float32)}
    session.run(None, feeds)  # "succeeds": onnxruntime quietly re-created the session on the CPU
    assert "EP Error" in capsys.readouterr().out


def reshape_that_fails(folder: Path) -> Path:
    """A model that fails on every device: it reshapes 4 numbers into 7."""
    shape = numpy_helper.from_array(np.array([7], np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "broken",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [7])],
        [shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return write_pack(folder, model, pack_id="broken")


def test_a_model_failing_on_the_gpu_and_then_the_cpu_is_one_clear_error(tmp_path: Path) -> None:
    pack = read_manifest(reshape_that_fails(tmp_path / "broken"))
    feeds = {"x": np.ones(4, np.float32)}
    with pytest.raises(PackError) as on_cpu:
        SessionPool(config=lambda: PoolConfig(device="cpu", threads=1)).run(pack, "model", feeds, CancelToken())
    assert str(on_cpu.value).startswith("The 'model' model of pack 'broken' failed on the CPU: [ONNXRuntimeError]")
    assert "atelier doctor" in on_cpu.value.user_message()
    with pytest.raises(PackError) as both:
        gpu_pool(CudaThatFailsMidRun).run(pack, "model", feeds, CancelToken())
    message = str(both.value)
    assert "failed on the CPU" in message and "before that, GPU (CUDA): failed during the run" in message


# -- NaN and infinity ------------------------------------------------------------------------------


def lineart_pack_returning(folder: Path, value: float) -> Path:
    """A line-art pack (same inputs and output as the real one) whose every output pixel is `value`."""
    inits = [
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(value, np.float32), "value"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["grey"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["grey", "zero"], ["nothing"]),
        helper.make_node("Mul", ["sensitivity", "zero"], ["no_gain"]),
        helper.make_node("Add", ["nothing", "no_gain"], ["base"]),
        helper.make_node("Add", ["base", "value"], ["lines"]),
    ]
    graph = helper.make_graph(
        nodes,
        "constant_lines",
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"]),
            helper.make_tensor_value_info("sensitivity", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("lines", TensorProto.FLOAT, [1, 1, "h", "w"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return write_pack(folder, model, pack_id="constant-lines", kind="lineart")


@pytest.mark.parametrize(
    ("value", "said"), [(np.nan, "returned NaN"), (np.inf, "returned infinite"), (-np.inf, "returned infinite")]
)
def test_a_model_returning_nan_or_infinity_fails_the_job(tmp_path: Path, value: float, said: str) -> None:
    engine = Engine(Settings(threads=1))
    engine.catalog = discover([lineart_pack_returning(tmp_path / "models" / "bad", value).parent])
    with pytest.raises(PackError) as error:
        engine.run_to_end(LineArtRequest(image=square_picture()))
    assert f"The 'model' model of pack 'constant-lines' {said}" in str(error.value)
    assert "(output 'lines', on CPU)" in str(error.value)
    assert "Device to 'cpu'" in error.value.user_message()


def test_the_same_model_returning_a_number_succeeds(tmp_path: Path) -> None:
    engine = Engine(Settings(threads=1))
    engine.catalog = discover([lineart_pack_returning(tmp_path / "models" / "grey", 0.5).parent])
    result = engine.run_to_end(LineArtRequest(image=square_picture()))
    assert np.all(result.lines == 128)


def tiny_sd_folder(folder: Path, unet_output: float | None, decoder_factor: float) -> Path:
    """A Stable Diffusion ONNX folder built by hand (no torch): a lookup-table text encoder, a UNet that
    predicts `sample * 0.5` (or the constant `unet_output`), and a decoder that upsamples 3 latent
    channels and multiplies them by `decoder_factor`."""
    write_tiny_clip_tokenizer(folder / "tokenizer")
    (folder / "scheduler").mkdir()
    (folder / "scheduler" / "scheduler_config.json").write_text(
        json.dumps({"_class_name": "EulerDiscreteScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085,
                    "beta_end": 0.012, "beta_schedule": "scaled_linear"})
    )  # fmt: skip

    def save(role: str, nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: list[Any]) -> None:
        model = helper.make_model(helper.make_graph(nodes, role, inputs, outputs, inits),
                                  opset_imports=[helper.make_opsetid("", 17)])  # fmt: skip
        model.ir_version = 8
        (folder / role).mkdir()
        onnx.save(model, str(folder / role / "model.onnx"))

    value = helper.make_tensor_value_info
    save(
        "text_encoder",
        [helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"])],
        [value("input_ids", TensorProto.INT64, [1, 77])],
        [value("last_hidden_state", TensorProto.FLOAT, [1, 77, 8])],
        [numpy_helper.from_array(np.full((4096, 8), 0.1, np.float32), "table")],
    )
    if unet_output is None:
        unet_nodes = [helper.make_node("Mul", ["sample", "half"], ["out_sample"])]
    else:
        unet_nodes = [helper.make_node("Mul", ["sample", "zero"], ["nothing"]),
                      helper.make_node("Add", ["nothing", "constant"], ["out_sample"])]  # fmt: skip
    save(
        "unet",
        unet_nodes,
        [value("sample", TensorProto.FLOAT, ["b", 4, "h", "w"]), value("timestep", TensorProto.FLOAT, [1]),
         value("encoder_hidden_states", TensorProto.FLOAT, ["b", 77, 8])],
        [value("out_sample", TensorProto.FLOAT, ["b", 4, "h", "w"])],
        [numpy_helper.from_array(np.array(0.5, np.float32), "half"),
         numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
         numpy_helper.from_array(np.array(unet_output or 0.0, np.float32), "constant")],
    )  # fmt: skip
    save(
        "vae_decoder",
        [helper.make_node("Slice", ["latent_sample", "start", "end", "axis"], ["rgb"]),
         helper.make_node("Resize", ["rgb", "", "scales"], ["big"], mode="nearest"),
         helper.make_node("Mul", ["big", "factor"], ["sample"])],
        [value("latent_sample", TensorProto.FLOAT, [1, 4, "h", "w"])],
        [value("sample", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [numpy_helper.from_array(np.array([0], np.int64), "start"),
         numpy_helper.from_array(np.array([3], np.int64), "end"),
         numpy_helper.from_array(np.array([1], np.int64), "axis"),
         numpy_helper.from_array(np.array([1, 1, 8, 8], np.float32), "scales"),
         numpy_helper.from_array(np.array(decoder_factor, np.float32), "factor")],
    )  # fmt: skip
    return folder


def sketch(folder: Path) -> Any:
    request = SketchRequest(prompt="a cat", pack_id=str(folder), width=64, height=64, steps=2, guidance=1.0)
    return Engine(Settings(threads=1)).run_to_end(request)


def test_a_working_hand_made_pipeline_gives_a_picture(tmp_path: Path) -> None:
    result = sketch(tiny_sd_folder(tmp_path / "sd", None, 0.2))
    image = result.images[0]
    assert image.shape == (64, 64, 3) and len(np.unique(image)) > 10


def test_a_decoder_returning_nan_fails_the_sketch_instead_of_a_black_picture(tmp_path: Path) -> None:
    with pytest.raises(PackError, match=r"'vae_decoder' model of pack 'sd' returned NaN \(output 'sample'"):
        sketch(tiny_sd_folder(tmp_path / "sd", None, np.nan))


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_latents_that_overflow_in_the_scheduler_stop_at_that_step(tmp_path: Path) -> None:
    """The UNet's answer is finite (3e38) but the Euler step multiplies it by sigma: infinity."""
    with pytest.raises(AtelierError) as error:
        sketch(tiny_sd_folder(tmp_path / "sd", 3e38, 0.2))
    assert str(error.value).startswith("The picture at step 1 of 2 came out as infinite values")
    assert "another pack, scheduler or step count" in error.value.user_message()
