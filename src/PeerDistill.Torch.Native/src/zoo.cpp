// The model zoo. Every model is a TorchScript module built here from source and initialised
// parameters, so a zoo model and a model exported from PyTorch are the same kind of object, and
// `peerdistill export` can write any of them as a file PyTorch loads with torch.jit.load.
#include "model.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace {

using torch::jit::Module;

const char* const kKnownModels = "mlp, cnn, resnet8, resnet20, resnet32, mobilenetv2";

// The most parameters a zoo model may have (200 MB of fp32): options that ask for more are refused
// before anything is allocated, so a spec cannot make a process build a model it has no memory for.
constexpr int64_t kMaxParameters = 50'000'000;

// The most hidden layers of an mlp, and the widest layer of any zoo model.
constexpr size_t kMaxLayers = 16;
constexpr int64_t kMaxWidth = 65536;

// "key=value;key=value" options with typed access; unknown keys are errors.
class Options {
 public:
  Options(std::string model, const std::string& text) : model_(std::move(model)) {
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ';')) {
      if (item.find_first_not_of(" \t") == std::string::npos) continue;
      const auto eq = item.find('=');
      if (eq == std::string::npos) fail("option '" + item + "' is not key=value");
      values_[trim(item.substr(0, eq))] = trim(item.substr(eq + 1));
    }
  }

  double number(const std::string& key, double fallback, double lo, double hi) {
    known_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    double v = 0;
    try {
      size_t used = 0;
      v = std::stod(it->second, &used);
      if (used != it->second.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      fail("option '" + key + "' must be a number, got '" + it->second + "'");
    }
    if (!(v >= lo && v <= hi)) {
      std::ostringstream m;
      m << "option '" << key << "' must be in [" << lo << ", " << hi << "], got " << it->second;
      fail(m.str());
    }
    return v;
  }

  std::vector<int64_t> int_list(const std::string& key, std::vector<int64_t> fallback, size_t max_count, int64_t max_value) {
    known_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    std::vector<int64_t> out;
    std::stringstream ss(it->second);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        size_t used = 0;
        const auto v = std::stoll(trim(item), &used);
        if (used != trim(item).size() || v <= 0) throw std::invalid_argument("bad");
        out.push_back(v);
      } catch (const std::exception&) {
        fail("option '" + key + "' must be a comma-separated list of positive integers, got '" + it->second + "'");
      }
      if (out.back() > max_value) {
        fail("option '" + key + "' must list integers in [1, " + std::to_string(max_value) + "], got " + std::to_string(out.back()));
      }
    }
    if (out.empty()) fail("option '" + key + "' must not be empty");
    if (out.size() > max_count) {
      fail("option '" + key + "' must list at most " + std::to_string(max_count) + " integers, got " + std::to_string(out.size()));
    }
    return out;
  }

  // Raises for every key that no accessor asked for.
  void finish() const {
    for (const auto& kv : values_) {
      if (known_.count(kv.first) == 0) {
        std::string known;
        for (const auto& k : known_) known += (known.empty() ? "" : ", ") + k;
        fail("unknown option '" + kv.first + "' (known: " + (known.empty() ? "none" : known) + ")");
      }
    }
  }

  [[noreturn]] void fail(const std::string& message) const {
    pd::fail(PD_ERR_ARGUMENT, "model '" + model_ + "': " + message);
  }

 private:
  static std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
  }

  std::string model_;
  std::map<std::string, std::string> values_;
  std::set<std::string> known_;
};

enum class Init { Default, KaimingFanOut, SmallNormal };

// Modules share one compilation unit per model; class names are mangled to stay unique. A dry
// builder only counts the parameters the model would have (no tensors, no compiled methods), so
// that a model over kMaxParameters is refused before anything is allocated.
class Builder {
 public:
  Builder(std::string model, bool dry) : model_(std::move(model)), dry_(dry) {}

  bool dry() const { return dry_; }

  // Compiles `source` as methods of `m` (not when dry).
  void define(Module& m, const std::string& source) {
    if (!dry_) m.define(source);
  }

  Module make(const std::string& type) {
    Module m(c10::QualifiedName("__torch__.peerdistill." + type), cu_, /*shouldMangle=*/true);
    // What nn.Module.__init__ gives every module in Python: the mode flag read by forward().
    m.register_attribute("training", c10::BoolType::get(), true);
    return m;
  }

  Module conv2d(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t groups, bool bias,
                Init init) {
    auto m = make("Conv2d");
    reserve(out * (in / groups) * k * k + (bias ? out : 0));
    if (dry_) return m;
    auto w = torch::empty({out, in / groups, k, k});
    const double fan_in = static_cast<double>(in / groups * k * k);
    {
      torch::NoGradGuard no_grad;
      if (init == Init::KaimingFanOut) {
        torch::nn::init::kaiming_normal_(w, 0.0, torch::kFanOut, torch::kReLU);
      } else {
        torch::nn::init::kaiming_uniform_(w, std::sqrt(5.0));
      }
    }
    add_param(m, "weight", w);
    std::string bias_arg = "None";
    if (bias) {
      auto b = torch::empty({out});
      const double bound = 1.0 / std::sqrt(fan_in);
      {
        torch::NoGradGuard no_grad;
        b.uniform_(-bound, bound);
      }
      add_param(m, "bias", b);
      bias_arg = "self.bias";
    }
    std::ostringstream src;
    src << "def forward(self, x):\n"
        << "    return torch.conv2d(x, self.weight, " << bias_arg << ", [" << stride << ", " << stride << "], ["
        << pad << ", " << pad << "], [1, 1], " << groups << ")\n";
    define(m, src.str());
    return m;
  }

  Module linear(int64_t in, int64_t out, Init init) {
    auto m = make("Linear");
    reserve(out * in + out);
    if (dry_) return m;
    auto w = torch::empty({out, in});
    auto b = torch::empty({out});
    {
      torch::NoGradGuard no_grad;
      if (init == Init::SmallNormal) {
        w.normal_(0.0, 0.01);
        b.zero_();
      } else {
        torch::nn::init::kaiming_uniform_(w, std::sqrt(5.0));
        const double bound = 1.0 / std::sqrt(static_cast<double>(in));
        b.uniform_(-bound, bound);
      }
    }
    add_param(m, "weight", w);
    add_param(m, "bias", b);
    define(m, "def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
    return m;
  }

  Module batch_norm(int64_t channels) {
    auto m = make("BatchNorm2d");
    reserve(4 * channels);
    if (dry_) return m;
    add_param(m, "weight", torch::ones({channels}));
    add_param(m, "bias", torch::zeros({channels}));
    m.register_buffer("running_mean", torch::zeros({channels}));
    m.register_buffer("running_var", torch::ones({channels}));
    define(m,
        "def forward(self, x):\n"
        "    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, "
        "self.training, 0.1, 1e-05, True)\n");
    return m;
  }

 private:
  // Counts `count` more values against kMaxParameters before they are allocated.
  void reserve(int64_t count) {
    total_ += count;
    if (count < 0 || total_ > kMaxParameters) {
      pd::fail(PD_ERR_ARGUMENT, "model '" + model_ + "': its options ask for more than " + std::to_string(kMaxParameters) +
                                    " parameters, the limit of a zoo model");
    }
  }

  static void add_param(Module& m, const std::string& name, torch::Tensor t) {
    t.set_requires_grad(true);
    m.register_parameter(name, t, /*is_buffer=*/false);
  }

  std::string model_;
  bool dry_;
  int64_t total_ = 0;
  std::shared_ptr<torch::jit::CompilationUnit> cu_ = std::make_shared<torch::jit::CompilationUnit>();
};

// A forward pass written once as lines of TorchScript on `x`; a line with a name makes x, as it is
// after that line, a named intermediate output. It becomes two methods: forward(x) -> logits and
// forward_features(x) -> [named outputs in order..., logits] with the same ops, and the module's
// attribute feature_names lists the names (saved with the module, so a checkpoint or an exported
// file keeps them).
struct ForwardBody {
  std::vector<std::pair<std::string, std::string>> lines;  // (source line(s), name or "")
  std::string result;                                       // expression of the logits
};

void define_forwards(Builder& b, Module& m, const ForwardBody& body, bool dry) {
  std::ostringstream forward, features;
  forward << "def forward(self, x):\n";
  features << "def forward_features(self, x):\n";
  c10::List<std::string> names;
  for (const auto& [line, name] : body.lines) {
    forward << line;
    features << line;
    if (!name.empty()) {
      features << (names.empty() ? "    outputs = [x]\n" : "    outputs.append(x)\n");
      names.push_back(name);
    }
  }
  forward << "    return " << body.result << "\n";
  features << "    outputs.append(" << body.result << ")\n    return outputs\n";
  b.define(m, forward.str());
  b.define(m, features.str());
  if (!dry) m.register_attribute("feature_names", c10::ListType::ofStrings(), names);
}

std::string num(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  std::string out = s.str();
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

std::string dropout_line(const std::string& var, double p) {
  if (p <= 0) return "";
  return "    " + var + " = torch.dropout(" + var + ", " + num(p) + ", self.training)\n";
}

const char* const kMaxPool = ", [2, 2], [2, 2], [0, 0], [1, 1], False)";

Module build_mlp(Builder& b, Options& o, int64_t c, int64_t h, int64_t w, int64_t classes) {
  const auto widths = o.int_list("widths", {512, 256}, kMaxLayers, kMaxWidth);
  const double dropout = o.number("dropout", 0.0, 0.0, 0.95);
  o.finish();
  auto m = b.make("Mlp");
  ForwardBody body{{{"    x = torch.flatten(x, 1)\n", ""}}, "self.out.forward(x)"};
  int64_t in = c * h * w;
  for (size_t i = 0; i < widths.size(); ++i) {
    const auto name = "fc" + std::to_string(i);
    m.register_module(name, b.linear(in, widths[i], Init::Default));
    body.lines.emplace_back("    x = torch.relu(self." + name + ".forward(x))\n", name);
    body.lines.emplace_back(dropout_line("x", dropout), "");
    in = widths[i];
  }
  m.register_module("out", b.linear(in, classes, Init::Default));
  define_forwards(b, m, body, b.dry());
  return m;
}

Module build_cnn(Builder& b, Options& o, int64_t c, int64_t h, int64_t w, int64_t classes) {
  const double dropout = o.number("dropout", 0.0, 0.0, 0.95);
  const auto hidden = static_cast<int64_t>(o.number("hidden", 128, 1, kMaxWidth));
  o.finish();
  if (h < 4 || w < 4) o.fail("input must be at least 4x4, got " + std::to_string(h) + "x" + std::to_string(w));
  auto m = b.make("Cnn");
  m.register_module("conv1", b.conv2d(c, 32, 3, 1, 1, 1, true, Init::Default));
  m.register_module("conv2", b.conv2d(32, 64, 3, 1, 1, 1, true, Init::Default));
  m.register_module("fc1", b.linear(64 * (h / 2 / 2) * (w / 2 / 2), hidden, Init::Default));
  m.register_module("fc2", b.linear(hidden, classes, Init::Default));
  const ForwardBody body{
      {{std::string("    x = torch.max_pool2d(torch.relu(self.conv1.forward(x))") + kMaxPool + "\n", "conv1"},
       {std::string("    x = torch.max_pool2d(torch.relu(self.conv2.forward(x))") + kMaxPool + "\n", "conv2"},
       {"    x = torch.relu(self.fc1.forward(torch.flatten(x, 1)))\n", "fc1"},
       {dropout_line("x", dropout), ""}},
      "self.fc2.forward(x)"};
  define_forwards(b, m, body, b.dry());
  return m;
}

// CIFAR-style ResNet (He et al. 2016, section 4.2): 6n+2 layers, stages of 16/32/64 channels
// times the width multiplier, projection shortcuts where the shape changes.
Module build_resnet(Builder& b, Options& o, int depth, int64_t c, int64_t classes) {
  const double width = o.number("width", 1.0, 0.125, 16.0);
  o.finish();
  const int n = (depth - 2) / 6;
  auto ch = [&](int64_t base) { return std::max<int64_t>(1, static_cast<int64_t>(std::lround(base * width))); };
  auto m = b.make("ResNet");
  m.register_module("conv1", b.conv2d(c, ch(16), 3, 1, 1, 1, false, Init::KaimingFanOut));
  m.register_module("bn1", b.batch_norm(ch(16)));
  int64_t in = ch(16);
  const int64_t stage_width[3] = {16, 32, 64};
  for (int s = 0; s < 3; ++s) {
    auto stage = b.make("Stage");
    std::ostringstream stage_src;
    stage_src << "def forward(self, x):\n";
    const int64_t out = ch(stage_width[s]);
    for (int i = 0; i < n; ++i) {
      const int64_t stride = (s > 0 && i == 0) ? 2 : 1;
      auto block = b.make("BasicBlock");
      block.register_module("conv1", b.conv2d(in, out, 3, stride, 1, 1, false, Init::KaimingFanOut));
      block.register_module("bn1", b.batch_norm(out));
      block.register_module("conv2", b.conv2d(out, out, 3, 1, 1, 1, false, Init::KaimingFanOut));
      block.register_module("bn2", b.batch_norm(out));
      std::string shortcut = "x";
      if (stride != 1 || in != out) {
        block.register_module("shortcut_conv", b.conv2d(in, out, 1, stride, 0, 1, false, Init::KaimingFanOut));
        block.register_module("shortcut_bn", b.batch_norm(out));
        shortcut = "self.shortcut_bn.forward(self.shortcut_conv.forward(x))";
      }
      b.define(block,
          "def forward(self, x):\n"
          "    out = torch.relu(self.bn1.forward(self.conv1.forward(x)))\n"
          "    out = self.bn2.forward(self.conv2.forward(out))\n"
          "    return torch.relu(out + " + shortcut + ")\n");
      const auto name = "block" + std::to_string(i);
      stage.register_module(name, block);
      stage_src << "    x = self." << name << ".forward(x)\n";
      in = out;
    }
    stage_src << "    return x\n";
    b.define(stage, stage_src.str());
    m.register_module("layer" + std::to_string(s + 1), stage);
  }
  m.register_module("fc", b.linear(in, classes, Init::Default));
  const ForwardBody body{
      {{"    x = torch.relu(self.bn1.forward(self.conv1.forward(x)))\n", ""},
       {"    x = self.layer1.forward(x)\n", "layer1"},
       {"    x = self.layer2.forward(x)\n", "layer2"},
       {"    x = self.layer3.forward(x)\n", "layer3"},
       {"    x = torch.flatten(torch.adaptive_avg_pool2d(x, [1, 1]), 1)\n", ""}},
      "self.fc.forward(x)"};
  define_forwards(b, m, body, b.dry());
  return m;
}

int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t out = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

// A small MobileNetV2 (Sandler et al. 2018) for 28x28 or 32x32 inputs: stride-1 stem, three
// stride-2 stages instead of five, inverted residual blocks with linear bottlenecks.
Module build_mobilenetv2(Builder& b, Options& o, int64_t c, int64_t classes) {
  const double width = o.number("width", 1.0, 0.125, 8.0);
  const double dropout = o.number("dropout", 0.0, 0.0, 0.95);
  const auto head = static_cast<int64_t>(o.number("head", 512, 8, 8192));
  o.finish();
  struct Stage { int64_t t, c, n, s; };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 2, 2}, {6, 96, 1, 1}};
  auto m = b.make("MobileNetV2");
  int64_t in = make_divisible(32 * width);
  m.register_module("stem_conv", b.conv2d(c, in, 3, 1, 1, 1, false, Init::KaimingFanOut));
  m.register_module("stem_bn", b.batch_norm(in));
  auto features = b.make("Features");
  std::ostringstream features_src;
  features_src << "def forward(self, x):\n";
  int index = 0;
  for (const auto& st : stages) {
    const int64_t out = make_divisible(st.c * width);
    for (int64_t i = 0; i < st.n; ++i) {
      const int64_t stride = i == 0 ? st.s : 1;
      const int64_t hidden = in * st.t;
      auto block = b.make("InvertedResidual");
      std::ostringstream src;
      src << "def forward(self, x):\n";
      std::string h = "x";
      if (st.t != 1) {
        block.register_module("expand_conv", b.conv2d(in, hidden, 1, 1, 0, 1, false, Init::KaimingFanOut));
        block.register_module("expand_bn", b.batch_norm(hidden));
        src << "    h = torch.hardtanh(self.expand_bn.forward(self.expand_conv.forward(x)), 0.0, 6.0)\n";
        h = "h";
      }
      block.register_module("dw_conv", b.conv2d(hidden, hidden, 3, stride, 1, hidden, false, Init::KaimingFanOut));
      block.register_module("dw_bn", b.batch_norm(hidden));
      block.register_module("project_conv", b.conv2d(hidden, out, 1, 1, 0, 1, false, Init::KaimingFanOut));
      block.register_module("project_bn", b.batch_norm(out));
      src << "    h = torch.hardtanh(self.dw_bn.forward(self.dw_conv.forward(" << h << ")), 0.0, 6.0)\n"
          << "    h = self.project_bn.forward(self.project_conv.forward(h))\n"
          << (stride == 1 && in == out ? "    return x + h\n" : "    return h\n");
      b.define(block, src.str());
      const auto name = "block" + std::to_string(index++);
      features.register_module(name, block);
      features_src << "    x = self." << name << ".forward(x)\n";
      in = out;
    }
  }
  features_src << "    return x\n";
  b.define(features, features_src.str());
  m.register_module("features", features);
  const int64_t last = make_divisible(head * std::max(1.0, width));
  m.register_module("head_conv", b.conv2d(in, last, 1, 1, 0, 1, false, Init::KaimingFanOut));
  m.register_module("head_bn", b.batch_norm(last));
  m.register_module("classifier", b.linear(last, classes, Init::SmallNormal));
  const ForwardBody body{
      {{"    x = torch.hardtanh(self.stem_bn.forward(self.stem_conv.forward(x)), 0.0, 6.0)\n", ""},
       {"    x = self.features.forward(x)\n", "features"},
       {"    x = torch.hardtanh(self.head_bn.forward(self.head_conv.forward(x)), 0.0, 6.0)\n", "head"},
       {"    x = torch.flatten(torch.adaptive_avg_pool2d(x, [1, 1]), 1)\n" + dropout_line("x", dropout), ""}},
      "self.classifier.forward(x)"};
  define_forwards(b, m, body, b.dry());
  return m;
}

}  // namespace

namespace pd {

torch::jit::Module build_zoo_model(const std::string& name, const std::string& options, int64_t channels,
                                   int64_t height, int64_t width, int64_t classes) {
  require(channels > 0 && height > 0 && width > 0,
          "model '" + name + "': input shape must be positive, got [" + std::to_string(channels) + ", " +
              std::to_string(height) + ", " + std::to_string(width) + "]");
  require(classes >= 2, "model '" + name + "': needs at least 2 classes, got " + std::to_string(classes));
  auto build = [&](bool dry) {
    Builder b(name, dry);
    Options o(name, options);
    if (name == "mlp") return build_mlp(b, o, channels, height, width, classes);
    if (name == "cnn") return build_cnn(b, o, channels, height, width, classes);
    if (name == "resnet8") return build_resnet(b, o, 8, channels, classes);
    if (name == "resnet20") return build_resnet(b, o, 20, channels, classes);
    if (name == "resnet32") return build_resnet(b, o, 32, channels, classes);
    if (name == "mobilenetv2") return build_mobilenetv2(b, o, channels, classes);
    fail(PD_ERR_ARGUMENT, "unknown model '" + name + "' (known: " + kKnownModels + ")");
  };
  build(/*dry=*/true);  // refuses options that ask for too many parameters before allocating any
  return build(/*dry=*/false);
}

}  // namespace pd

PD_API const char* pd_zoo_models() { return kKnownModels; }
