"""The launcher configs in train/configs/accelerate/ and the Stable Diffusion 1.5 training configs.

No GPU is needed: each accelerate file is loaded with accelerate's own config class, resolved by the
same code `accelerate launch` runs before it starts processes (`_validate_launch_command`), and, for
FSDP and DeepSpeed, turned into the environment the launcher would export and the plugin the training
script would build from it. That catches unknown keys, misspelt values and keys that the launcher
would silently ignore; it does not run distributed training (see the comments in each file).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import sys
import warnings
from pathlib import Path

import pytest
import yaml

accelerate = pytest.importorskip("accelerate")
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file  # noqa: E402
from accelerate.commands.launch import _validate_launch_command, launch_command_parser  # noqa: E402
from accelerate.utils import ComputeEnvironment, DistributedType  # noqa: E402
from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE_DIR = ROOT / "train" / "configs" / "accelerate"
CONFIGS = {
    "single_gpu": (DistributedType.NO, 1),
    "multi_gpu_ddp": (DistributedType.MULTI_GPU, 8),
    "fsdp": (DistributedType.FSDP, 8),
    "deepspeed": (DistributedType.DEEPSPEED, 8),
}
SD15_CONFIGS = ("image_sd15_emoset.yaml", "image_sd15_findingemo.yaml")


def config_path(name: str) -> Path:
    return ACCELERATE_DIR / f"{name}.yaml"


def resolve(name: str, *launch_args: str):
    """What `accelerate launch --config_file FILE [launch_args] train/train_image.py` resolves to."""
    argv = ["--config_file", str(config_path(name)), *launch_args, "train/train_image.py", "--config", "x.yaml"]
    args = launch_command_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "port 29500 in use" on a busy machine
        return _validate_launch_command(args)


def exported(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key.startswith(("ACCELERATE_", "FSDP_"))}


def test_there_is_one_file_per_launcher():
    assert sorted(p.stem for p in ACCELERATE_DIR.glob("*.yaml")) == sorted(CONFIGS)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_loads_with_accelerates_config_class(name):
    distributed_type, num_processes = CONFIGS[name]
    config = load_config_from_file(str(config_path(name)))
    assert isinstance(config, ClusterConfig)  # a local-machine config, not SageMaker
    assert config.compute_environment == ComputeEnvironment.LOCAL_MACHINE
    assert config.distributed_type == distributed_type
    assert config.num_processes == num_processes
    assert config.num_machines == 1
    assert config.mixed_precision == "fp16"  # matches mixed_precision in the SD1.5 training configs
    assert config.use_cpu is False
    assert config.gpu_ids == "all"  # CUDA_VISIBLE_DEVICES chooses the GPUs
    # from_yaml_file is the same class method `accelerate launch` uses; it refuses unknown top-level keys.
    assert ClusterConfig.from_yaml_file(str(config_path(name))).to_dict() == config.to_dict()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_nested_key_is_a_launch_option(name):
    """Keys under fsdp_config / deepspeed_config are copied onto the launcher's arguments unchecked:
    a misspelt one would be ignored silently. Each must name an `accelerate launch` option."""
    options = vars(launch_command_parser().parse_args(["train/train_image.py"]))
    raw = yaml.safe_load(config_path(name).read_text())
    for section, prefix in (("fsdp_config", "fsdp_"), ("deepspeed_config", "")):
        for key in raw.get(section, {}):
            option = key if key.startswith(prefix) else prefix + key
            assert option in options, f"{name}.yaml: {section}.{key} is not an `accelerate launch` option"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_launcher_resolves_it(name):
    distributed_type, num_processes = CONFIGS[name]
    args, defaults, _ = resolve(name)
    assert args.num_processes == num_processes
    assert args.mixed_precision == "fp16"
    assert args.multi_gpu == (distributed_type == DistributedType.MULTI_GPU)
    assert args.use_fsdp == (distributed_type == DistributedType.FSDP)
    assert args.use_deepspeed == (distributed_type == DistributedType.DEEPSPEED)
    assert defaults.distributed_type == distributed_type


@pytest.mark.parametrize("name", ["multi_gpu_ddp", "fsdp", "deepspeed"])
def test_num_processes_on_the_command_line_overrides_the_file(name):
    args, _, _ = resolve(name, "--num_processes", "4")
    assert args.num_processes == 4


def test_fsdp_plugin_settings(monkeypatch):
    """The FSDP environment the launcher exports, read back by the plugin the training script builds."""
    from torch.distributed.fsdp import ShardingStrategy, StateDictType
    from torch.distributed.fsdp.wrap import size_based_auto_wrap_policy

    from accelerate.utils import FullyShardedDataParallelPlugin

    args, _, _ = resolve("fsdp")
    env = exported(prepare_multi_gpu_env(args))
    assert env["ACCELERATE_USE_FSDP"] == "true"
    assert env["FSDP_VERSION"] == "1"
    assert env["FSDP_STATE_DICT_TYPE"] == "SHARDED_STATE_DICT"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # sync_module_states makes the plugin look up the current GPU (for parameters FSDP materialises);
    # on a machine without one, pretend there is one (GPU 0 current).
    import accelerate.utils.dataclasses as plugin_module
    import torch

    if not torch.cuda.is_available():
        if hasattr(plugin_module, "get_torch_accelerator_backend"):  # accelerate >= 1.16 asks this
            monkeypatch.setattr(plugin_module, "get_torch_accelerator_backend", lambda: ("cuda", None))
        else:
            monkeypatch.setattr(plugin_module, "is_cuda_available", lambda: True)
            monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 1
    assert plugin.sharding_strategy == ShardingStrategy.FULL_SHARD
    assert plugin.state_dict_type == StateDictType.SHARDED_STATE_DICT
    assert plugin.auto_wrap_policy is size_based_auto_wrap_policy
    assert plugin.min_num_params == 20_000_000
    assert plugin.use_orig_params is True
    assert plugin.sync_module_states is True
    assert plugin.cpu_ram_efficient_loading is False
    assert plugin.activation_checkpointing is False  # the training config's gradient_checkpointing does it
    assert not plugin.cpu_offload.offload_params


def test_deepspeed_plugin_settings(monkeypatch):
    """ZeRO-2 without offload; gradient accumulation left to the training config ("auto")."""
    from accelerate.utils import DeepSpeedPlugin

    args, defaults, mixed_precision_from_file = resolve("deepspeed")
    # What `accelerate launch` sets just before it calls the DeepSpeed launcher.
    fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mixed_precision_from_file else [])
    args.deepspeed_fields_from_accelerate_config = ",".join(fields)
    _, env = prepare_deepspeed_cmd_env(args)
    env = exported(env)
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true"
    assert env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == "2"
    assert env["ACCELERATE_GRADIENT_CLIPPING"] == "1.0"
    # Set, it would override the training config's gradient_accumulation_steps (Accelerator reads it).
    assert "ACCELERATE_GRADIENT_ACCUMULATION_STEPS" not in env
    monkeypatch.delenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    plugin = DeepSpeedPlugin()  # builds its config without importing deepspeed
    assert plugin.zero_stage == 2
    assert plugin.gradient_accumulation_steps == "auto"
    assert plugin.gradient_clipping == 1.0
    zero = plugin.deepspeed_config["zero_optimization"]
    assert zero["stage"] == 2
    assert zero["offload_optimizer"]["device"] == "none"
    assert zero["offload_param"]["device"] == "none"


# ----- the Stable Diffusion 1.5 training configs ------------------------------------------------------

# ImageTrainConfig's fields as agreed for train/train_image.py (image_root: the FindingEmo image folder).
AGREED_FIELDS = {
    "output_dir", "seed", "pretrained_model", "architecture", "adapter_mode", "adapter_num_tokens",
    "adapter_hidden_dim", "train_mode", "lora_rank", "dataset", "data_root", "image_root", "resolution", "kinds",
    "default_prompt", "dataloader_num_workers", "torch_threads", "text_dropout", "emotion_dropout",
    "train_batch_size", "gradient_accumulation_steps", "max_train_steps", "learning_rate", "lr_scheduler",
    "lr_warmup_steps", "adam_weight_decay", "max_grad_norm", "snr_gamma", "mixed_precision", "gradient_checkpointing",
    "enable_xformers", "use_ema", "ema_decay", "checkpointing_steps", "checkpoints_total_limit",
    "resume_from_checkpoint", "logging_steps", "validation_steps", "validation_per_category",
    "validation_inference_steps", "validation_guidance_scale", "validation_scorer", "report_to", "save_full_pipeline",
}


@pytest.mark.parametrize("filename", SD15_CONFIGS)
def test_sd15_config_values(filename):
    values = yaml.safe_load((ROOT / "train" / "configs" / filename).read_text())
    assert set(values) <= AGREED_FIELDS, f"unknown keys: {sorted(set(values) - AGREED_FIELDS)}"
    expected = {
        "pretrained_model": "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "train_mode": "adapter",
        "adapter_mode": "residual",
        "resolution": 512,
        "mixed_precision": "fp16",
        "gradient_checkpointing": True,
        "use_ema": True,
        "train_batch_size": 8,
        "save_full_pipeline": False,
        "data_root": None,  # set on the command line
        "dataset": "emoset" if "emoset" in filename else "findingemo",
    }
    assert {key: values.get(key) for key in expected} == expected
    assert values["validation_scorer"] in ("fer2013", "none")
    if values["dataset"] == "findingemo":
        assert "image_root" in values  # FindingEmo needs its image folder too


def load_trainer():
    """train/train_image.py as a module, or None while it cannot be imported."""
    path = ROOT / "train" / "train_image.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("train_image_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building the class
    try:
        spec.loader.exec_module(module)
    except Exception:  # noqa: BLE001 - the trainer is being written alongside; report a skip, not an error
        return None
    finally:
        sys.modules.pop(spec.name, None)
    return module


@pytest.mark.parametrize("filename", SD15_CONFIGS)
def test_sd15_config_parses_as_the_trainers_config(filename):
    trainer = load_trainer()
    if trainer is None or not hasattr(trainer, "ImageTrainConfig"):
        pytest.skip("train/train_image.py (ImageTrainConfig) is not importable here")
    from emogen import training

    path = ROOT / "train" / "configs" / filename
    names = {field.name for field in dataclasses.fields(trainer.ImageTrainConfig)}
    unknown = set(yaml.safe_load(path.read_text())) - names
    assert not unknown, f"{filename}: not ImageTrainConfig fields: {sorted(unknown)}"
    config = training.parse_config(trainer.ImageTrainConfig, ["--config", str(path), "--data_root", "/data/x"])
    config.check()
    assert config.data_root == "/data/x"


def test_string_settings_keep_their_command_line_text():
    """YAML would read `--mixed_precision no` as False and `--resume_from_checkpoint 500` as 500; a string
    setting keeps what was typed, while numbers and booleans are still read as YAML."""
    trainer = load_trainer()
    if trainer is None or not hasattr(trainer, "ImageTrainConfig"):
        pytest.skip("train/train_image.py (ImageTrainConfig) is not importable here")
    from emogen import training

    config = training.parse_config(trainer.ImageTrainConfig, [
        "--mixed_precision", "no", "--resume_from_checkpoint", "500", "--save_fp16", "true",
        "--learning_rate", "1e-4", "--max_train_steps", "12", "--pretrained_model", "null"])
    assert config.mixed_precision == "no" and config.resume_from_checkpoint == "500"
    assert config.save_fp16 is True and config.learning_rate == 1e-4 and config.max_train_steps == 12
    assert config.pretrained_model is None
    config.check()
