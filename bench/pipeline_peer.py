#!/usr/bin/python3
"""The pipeline a user would otherwise write in Python, as the speed peer for bench_pipeline_speed.

Same design and the same trained weights as stmlens: level (plane + median line alignment + one-line scars), resample to each
network's pixel size, robust standardisation (per tile where the card says so), the three U-Nets in PyTorch (python3-torch, the same LibTorch
build), atoms as local maxima with sub-pixel centroids (scipy.ndimage), defects as connected components of the
arg-max map (scipy.ndimage.label / center_of_mass), mean-shift on defect windows (scikit-learn MeanShift).
Debian packages only: python3-torch python3-scipy python3-sklearn python3-numpy.

usage: pipeline_peer.py SCAN.npy PIXEL_NM MODELS_DIR [RUNS] [fp32|bf16]
(bf16: the networks in bfloat16, as stmlens runs them on CPUs with bf16 units)
Prints 'ms_median M', 'atoms A', 'defects D', 'clusters C' (one per line).
"""
import json
import sys
import time

import numpy as np
import torch
from scipy import ndimage
from sklearn.cluster import MeanShift, estimate_bandwidth

torch.set_num_threads(2)


class ConvBlock(torch.nn.Module):
    def __init__(self, cin, cout, dilation=1):
        super().__init__()
        def conv(i):
            return torch.nn.Conv2d(i, cout, 3, padding=dilation, dilation=dilation, bias=False)
        self.body = torch.nn.Sequential(conv(cin), torch.nn.BatchNorm2d(cout), torch.nn.ReLU(True),
                                        conv(cout), torch.nn.BatchNorm2d(cout), torch.nn.ReLU(True))

    def forward(self, x):
        return self.body(x)


def conv_bn_relu(cin, cout, stride):
    return torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                               torch.nn.BatchNorm2d(cout), torch.nn.ReLU(inplace=True))


class UNet(torch.nn.Module):
    """The network of src/nn/UNetModule.cpp, parameter names included."""

    def __init__(self, arch):
        super().__init__()
        w, depth = arch["width"], arch["depth"]
        ch = arch["in_channels"]
        self.depth = depth
        self.stem = None
        if arch.get("stem_stride", 1) == 2:
            self.stem = conv_bn_relu(ch, w, 2)
            ch = w
        for level in range(depth):
            setattr(self, f"down{level}", ConvBlock(ch, w << level))
            ch = w << level
        bottom = w << depth
        self.bottleneck = ConvBlock(ch, bottom, 2 if arch["dilated_bottleneck"] else 1)
        ch = bottom
        for level in reversed(range(depth)):
            skip = w << level
            setattr(self, f"reduce{level}", torch.nn.Conv2d(ch, skip, 1))
            setattr(self, f"up{level}", ConvBlock(2 * skip, skip))
            ch = skip
        if self.stem is not None:
            half = max(1, w // 2)
            self.fine = conv_bn_relu(arch["in_channels"], half, 1)
            self.refine = conv_bn_relu(ch + half, half, 1)
            ch = half
        self.head = torch.nn.Conv2d(ch, arch["out_channels"], 1)
        self.image_head = torch.nn.Linear(bottom, arch["image_classes"]) if arch["image_classes"] > 0 else None

    def forward(self, x):
        full = x
        if self.stem is not None:
            x = self.stem(x)
        skips = []
        for level in range(self.depth):
            x = getattr(self, f"down{level}")(x)
            skips.append(x)
            x = torch.nn.functional.max_pool2d(x, 2)
        x = self.bottleneck(x)
        image = self.image_head(x.mean((2, 3))) if self.image_head is not None else None
        for level in reversed(range(self.depth)):
            skip = skips[level]
            x = torch.nn.functional.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = getattr(self, f"reduce{level}")(x)
            x = getattr(self, f"up{level}")(torch.cat([x, skip], 1))
        if self.stem is not None:
            x = torch.nn.functional.interpolate(x, size=full.shape[2:], mode="bilinear", align_corners=False)
            x = self.refine(torch.cat([x, self.fine(full)], 1))
        return self.head(x), image


BF16 = False


def load(models, task):
    card = json.load(open(f"{models}/{task}/card.json"))
    net = UNet(card["architecture"])
    saved = torch.jit.load(f"{models}/{task}/weights.pt")   # LibTorch's torch::save writes a TorchScript archive
    state = {k: v for k, v in saved.named_parameters()}
    state.update({k: v for k, v in saved.named_buffers()})
    net.load_state_dict(state, strict=True)
    net.eval()
    # The layout the C++ side uses too: oneDNN convolutions are much faster on channels-last tensors.
    net = net.to(memory_format=torch.channels_last)
    if BF16:
        net = net.to(torch.bfloat16)
    return net, card


def level(img):
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.c_[np.ones(img.size), xx.ravel(), yy.ravel()]
    coef, *_ = np.linalg.lstsq(a, img.ravel(), rcond=None)
    img = img - (a @ coef).reshape(h, w)
    img = img - np.median(img, axis=1, keepdims=True)
    return remove_scars(img)


def remove_scars(img, threshold=4.0):
    # One-line outliers (spikes, glitch dashes): above or below both vertical neighbours by more than threshold
    # robust spreads of the line-to-line differences, with those neighbours closer to each other; as stmlens.
    d = np.diff(img, axis=0).ravel()
    d = d[:: max(1, d.size // 65536)]
    spread = 1.4826 * np.median(np.abs(d - np.median(d)))
    if not spread > 0:
        return img
    up, mid, dn = img[:-2], img[1:-1], img[2:]
    a, b = mid - up, mid - dn
    m = np.minimum(np.abs(a), np.abs(b))
    scar = ((a > 0) == (b > 0)) & (m > threshold * spread) & (np.abs(up - dn) < m)
    out = img.copy()
    out[1:-1][scar] = 0.5 * (up + dn)[scar]
    return out


def standardise(img):
    med = np.median(img)
    mad = 1.4826 * np.median(np.abs(img - med)) or 1.0
    return np.clip((img - med) / mad, -6, 6).astype(np.float32)


def prepare(img, px, model_px):
    z = px / model_px
    out = ndimage.zoom(img, z, order=3 if z > 1 else 1)
    return standardise(out), z


def run_net(net, img):
    h, w = img.shape
    multiple = (2 if net.stem is not None else 1) << net.depth
    ph, pw = -h % multiple, -w % multiple
    x = torch.from_numpy(np.pad(img, ((0, ph), (0, pw)), mode="reflect"))[None, None]
    x = x.contiguous(memory_format=torch.channels_last)
    if BF16:
        x = x.to(torch.bfloat16)
    with torch.no_grad():
        logits, image = net(x)
        prob = torch.softmax(logits.float(), 1)[0, :, :h, :w].numpy()
    return prob, (torch.softmax(image.float(), 1)[0].numpy() if image is not None else None)


def run_card(net, card, img):
    """As stmlens runs a card: a per-tile card levels and standardises every tile on its own (overlapping tiles of
    the card's size, averaged where they overlap); otherwise the whole image in one pass."""
    inp = card["input"]
    if not inp.get("normalization", "").startswith("per-tile"):
        return run_net(net, img)
    t, ov = inp["tile_size"], inp["tile_overlap"]
    h, w = img.shape
    ph, pw = max(0, t - h), max(0, t - w)
    src = np.pad(img, ((0, ph), (0, pw)), mode="reflect")
    H, W = src.shape
    step = t - ov
    ys = sorted(set(list(range(0, max(1, H - t + 1), step)) + [H - t]))
    xs = sorted(set(list(range(0, max(1, W - t + 1), step)) + [W - t]))
    tiles = [(y, x) for y in ys for x in xs]
    acc = None
    count = np.zeros((H, W), np.float32)
    for i in range(0, len(tiles), 4):
        batch = np.stack([standardise(level(src[y:y + t, x:x + t])) for y, x in tiles[i:i + 4]])[:, None]
        xb = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
        if BF16:
            xb = xb.to(torch.bfloat16)
        with torch.no_grad():
            logits, _ = net(xb)
            prob = torch.softmax(logits.float(), 1).numpy()
        if acc is None:
            acc = np.zeros((prob.shape[1], H, W), np.float32)
        for k, (y, x) in enumerate(tiles[i:i + 4]):
            acc[:, y:y + t, x:x + t] += prob[k]
            count[y:y + t, x:x + t] += 1
    return (acc / count)[:, :h, :w], None


def analyse(scan, px, nets):
    img = level(scan.astype(np.float64))
    # assessment
    net, card = nets["assess"]
    x, _ = prepare(img, px, card["input"]["pixel_size_nm"])
    resolved, quality = run_net(net, x)
    # defects: components of the arg-max map, per class
    net, card = nets["defects"]
    x, z = prepare(img, px, card["input"]["pixel_size_nm"])
    prob, _ = run_card(net, card, x)
    cls = prob.argmax(0)
    defects = []
    for c in range(1, prob.shape[0]):
        lab, n = ndimage.label(cls == c)
        if n:
            for cy, cx in ndimage.center_of_mass(cls == c, lab, range(1, n + 1)):
                defects.append((cx / z, cy / z, c))
    # atoms: local maxima of the atom probability, probability-weighted centroids in 3x3
    net, card = nets["atoms"]
    x, z = prepare(img, px, card["input"]["pixel_size_nm"])
    prob, _ = run_card(net, card, x)
    p = prob[1]
    peaks = (p == ndimage.maximum_filter(p, size=3)) & (p > 0.5)
    lab, n = ndimage.label(peaks)
    atoms = ndimage.center_of_mass(p, lab, range(1, n + 1)) if n else []
    # mean-shift on 16x16 windows of the levelled scan around each defect
    r = max(2, int(round(1.25 / px)))
    padded = np.pad(img, r, mode="reflect")
    feats = []
    for cx, cy, _ in defects:
        wdw = padded[int(cy):int(cy) + 2 * r, int(cx):int(cx) + 2 * r]
        feats.append(ndimage.zoom(wdw, 16 / wdw.shape[0], order=1)[:16, :16].ravel())
    clusters = 0
    if len(feats) > 5:
        f = np.array(feats)
        bw = estimate_bandwidth(f, quantile=0.05) or 1.0
        clusters = len(np.unique(MeanShift(bandwidth=bw, bin_seeding=True).fit(f).labels_))
    return len(atoms), len(defects), clusters


def main():
    global BF16
    scan = np.load(sys.argv[1]).astype(np.float32)
    px = float(sys.argv[2])
    models = sys.argv[3]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    BF16 = len(sys.argv) > 5 and sys.argv[5] == "bf16"
    nets = {t: load(models, t) for t in ("assess", "atoms", "defects")}
    analyse(scan, px, nets)   # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        atoms, defects, clusters = analyse(scan, px, nets)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"ms_median {sorted(times)[len(times) // 2]:.1f}")
    print(f"atoms {atoms}")
    print(f"defects {defects}")
    print(f"clusters {clusters}")


if __name__ == "__main__":
    main()
