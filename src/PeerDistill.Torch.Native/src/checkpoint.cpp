// Checkpoints: one file holding the model (as a TorchScript archive, so it is self-describing),
// optimizer state, step counter, the model's random stream and free-form metadata from the
// managed side. Files are written to a temporary name, flushed to disk and renamed into place, so
// a crash never leaves a torn checkpoint behind.
//
// A checkpoint is not tied to the device it was written on: every tensor in it is mapped, while
// the archive is read, onto the device of the model it is restored into (optimizer state
// included), so a file written on cuda:0 loads on a CPU-only machine and the other way round.
// The one thing that cannot travel is the model's random stream: CPU and CUDA generators are
// different algorithms (Mersenne Twister and Philox) with incompatible states, so a model moved
// to the other kind of device goes on with a fresh stream seeded from the saved state (the same
// file always gives the same stream).
#include "optim.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

char* pd_dup_string(const std::string& s);

namespace {

const char* const kFormat = "peerdistill-checkpoint-1";

const char* device_kind(const torch::Device& device) { return device.is_cuda() ? "cuda" : "cpu"; }

torch::Tensor bytes_tensor(const std::string& bytes) {
  return torch::from_blob(const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())}, torch::kUInt8).clone();
}

std::string tensor_bytes(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()));
}

void write_durably(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) pd::fail(PD_ERR_IO, "cannot create '" + tmp + "': " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      pd::fail(PD_ERR_IO, "cannot write '" + tmp + "': " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) pd::fail(PD_ERR_IO, "cannot flush '" + tmp + "': " + std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    pd::fail(PD_ERR_IO, "cannot move '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

// Opens a checkpoint with every tensor in it mapped onto `device`.
torch::serialize::InputArchive open_checkpoint(const std::string& path, const torch::Device& device) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) pd::fail(PD_ERR_IO, "cannot open checkpoint '" + path + "'");
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    pd::fail(PD_ERR_IO, "'" + path + "' is not a readable checkpoint: " + e.what_without_backtrace());
  }
  c10::IValue format;
  if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kFormat) {
    pd::fail(PD_ERR_IO, "'" + path + "' is not a PeerDistill checkpoint (expected format " + kFormat + ")");
  }
  return archive;
}

c10::IValue read_value(torch::serialize::InputArchive& archive, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!archive.try_read(key, v)) pd::fail(PD_ERR_IO, "checkpoint '" + path + "' lacks '" + key + "'");
  return v;
}

torch::Tensor read_tensor(torch::serialize::InputArchive& archive, const std::string& key, const std::string& path) {
  torch::Tensor t;
  if (!archive.try_read(key, t)) pd::fail(PD_ERR_IO, "checkpoint '" + path + "' lacks '" + key + "'");
  return t;
}

// Restores the model's random stream from the checkpoint: the saved state itself when it was
// written on the same kind of device, otherwise a stream seeded from it (see the top of the file).
// Checkpoints from before the device was recorded were written on the CPU.
void restore_generator(torch::serialize::InputArchive& archive, const std::string& path, PdModel* m) {
  const auto state = read_tensor(archive, "generator", path).to(torch::kCPU).contiguous();
  c10::IValue saved_on;
  const std::string from = archive.try_read("generator_device", saved_on) && saved_on.isString() ? saved_on.toStringRef() : "cpu";
  if (from == device_kind(m->device)) {
    m->generator.set_state(state);
    return;
  }
  uint64_t seed = 1469598103934665603ULL;  // FNV-1a over the saved state's bytes
  const auto* bytes = static_cast<const uint8_t*>(state.data_ptr());
  for (int64_t i = 0; i < state.numel() * static_cast<int64_t>(state.element_size()); ++i) {
    seed = (seed ^ bytes[i]) * 1099511628211ULL;
  }
  m->generator.set_current_seed(seed);
}

}  // namespace

// Saves model, optimizer (may be null), step and metadata to `path`.
PD_API int32_t pd_checkpoint_save(PdModel* model, PdOptimizer* optimizer, int64_t step, const char* metadata,
                                  const char* path) {
  PD_TRY {
    auto* m = pd::model_handle(model);
    pd::require(path != nullptr, "null checkpoint path");
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(kFormat)));
    archive.write("step", c10::IValue(step));
    archive.write("arch", c10::IValue(m->arch));
    archive.write("metadata", c10::IValue(std::string(metadata == nullptr ? "" : metadata)));
    archive.write("classes", c10::IValue(m->classes));
    archive.write("input_shape", torch::tensor(m->input_shape.empty() ? std::vector<int64_t>{} : m->input_shape, torch::kInt64));
    archive.write("stochastic", c10::IValue(m->stochastic));
    archive.write("module", bytes_tensor(pd::module_to_bytes(m->module)));
    archive.write("generator", m->generator.get_state());
    archive.write("generator_device", c10::IValue(std::string(device_kind(m->device))));
    if (optimizer != nullptr) {
      auto* o = pd::optimizer_handle(optimizer);
      torch::serialize::OutputArchive nested;
      o->optimizer->save(nested);
      archive.write("optimizer_kind", c10::IValue(static_cast<int64_t>(o->kind)));
      archive.write("optimizer", nested);
    }
    std::ostringstream buffer;
    archive.save_to(buffer);
    write_durably(path, buffer.str());
  }
  PD_CATCH
}

// Restores a checkpoint into an existing model (and optimizer, when both are given). The model's
// parameters keep their identity, so an optimizer built on them stays valid.
PD_API int32_t pd_checkpoint_restore(const char* path, PdModel* model, PdOptimizer* optimizer, int64_t* step) {
  PD_TRY {
    auto* m = pd::model_handle(model);
    pd::require(path != nullptr, "null checkpoint path");
    auto archive = open_checkpoint(path, m->device);
    const auto arch = read_value(archive, "arch", path).toStringRef();
    if (arch != m->arch) {
      pd::fail(PD_ERR_ARGUMENT, "checkpoint '" + std::string(path) + "' holds a '" + arch + "' model, not '" + m->arch + "'");
    }
    auto saved = pd::module_from_bytes(tensor_bytes(read_tensor(archive, "module", path)), m->device);
    std::map<std::string, torch::Tensor> values;
    for (const auto& p : saved.named_parameters()) values[p.name] = p.value;
    for (const auto& b : saved.named_buffers()) values[b.name] = b.value;
    size_t matched = 0;
    torch::NoGradGuard no_grad;
    auto restore_one = [&](const std::string& name, torch::Tensor target) {
      auto it = values.find(name);
      if (it == values.end()) pd::fail(PD_ERR_ARGUMENT, "checkpoint '" + std::string(path) + "' has no entry '" + name + "'");
      if (it->second.sizes() != target.sizes()) {
        std::ostringstream s;
        s << "checkpoint '" << path << "' entry '" << name << "' has shape " << it->second.sizes() << ", model has " << target.sizes();
        pd::fail(PD_ERR_ARGUMENT, s.str());
      }
      target.copy_(it->second);
      ++matched;
    };
    for (const auto& p : m->module.named_parameters()) restore_one(p.name, p.value);
    for (const auto& b : m->module.named_buffers()) restore_one(b.name, b.value);
    if (matched != values.size()) {
      pd::fail(PD_ERR_ARGUMENT, "checkpoint '" + std::string(path) + "' has " + std::to_string(values.size()) +
                                    " entries but the model has " + std::to_string(matched));
    }
    restore_generator(archive, path, m);
    if (optimizer != nullptr) {
      auto* o = pd::optimizer_handle(optimizer);
      c10::IValue kind;
      if (!archive.try_read("optimizer_kind", kind)) {
        pd::fail(PD_ERR_ARGUMENT, "checkpoint '" + std::string(path) + "' holds no optimizer state");
      }
      if (kind.toInt() != o->kind) pd::fail(PD_ERR_ARGUMENT, "checkpoint '" + std::string(path) + "' holds the state of another optimizer kind");
      torch::serialize::InputArchive nested;
      archive.read("optimizer", nested);
      o->optimizer->load(nested);
    }
    *step = read_value(archive, "step", path).toInt();
  }
  PD_CATCH
}

// Builds a model from a checkpoint alone (for evaluation and export).
PD_API int32_t pd_checkpoint_load_model(const char* path, const char* device, PdModel** out, int64_t* step) {
  PD_TRY {
    pd::require(path != nullptr, "null checkpoint path");
    auto dev = pd::parse_device(device == nullptr ? "cpu" : device);
    auto archive = open_checkpoint(path, dev);
    auto* m = new PdModel();
    try {
      m->module = pd::module_from_bytes(tensor_bytes(read_tensor(archive, "module", path)), dev);
      m->arch = read_value(archive, "arch", path).toStringRef();
      m->device = dev;
      m->classes = read_value(archive, "classes", path).toInt();
      auto shape = read_tensor(archive, "input_shape", path).to(torch::kCPU);
      for (int64_t i = 0; i < shape.numel(); ++i) m->input_shape.push_back(shape[i].item<int64_t>());
      m->stochastic = read_value(archive, "stochastic", path).toBool();
      m->generator = at::globalContext().defaultGenerator(dev).clone();
      restore_generator(archive, path, m);
      *step = read_value(archive, "step", path).toInt();
    } catch (...) {
      delete m;
      throw;
    }
    *out = m;
  }
  PD_CATCH
}

PD_API int32_t pd_checkpoint_metadata(const char* path, char** out, int64_t* step) {
  PD_TRY {
    pd::require(path != nullptr, "null checkpoint path");
    auto archive = open_checkpoint(path, torch::kCPU);
    *out = pd_dup_string(read_value(archive, "metadata", path).toStringRef());
    *step = read_value(archive, "step", path).toInt();
  }
  PD_CATCH
}
