"""`ResidualSupernet`: every architecture of a `ResidualSpace` in one set of shared weights.

Block position `i` of the supernet holds the largest kernels any architecture
puts there: `(k_max, [k_max,] c_in_max, c_out_max)` for its two convolutions,
a 1-wide shortcut where some architecture reduces at `i`, and BatchNorm over
`c_out_max` channels. An architecture's path through it (Once-for-All's elastic
dimensions):

* width `w`: block `i` uses the first `w * f_i` output channels, `f_i` the
  stage's width factor (`ResidualEncoding.plan`), and the first channels of its
  input (`w[:c_in, :c_out]`);
* kernel `k`: the centre `k x k` of the `k_max x k_max` kernel (with "same"
  padding a `k`-wide convolution and the centre of a wider one see the same
  inputs);
* dilation: block `i` dilates by `2 ** (i % 4)` or not, the same kernel either
  way (a branch of the graph chosen at run time);
* dropout before the head at the path's rate;
* depth and reductions (`num_blocks`, and where `downsample` strides): the
  graph's structure, one compiled step per `(num_blocks, strided blocks, stem
  pool)`, every structure using the same variables by position.

So the sub-network that `ResidualSpace.build_architecture(arch)` builds, given
these slices (`load_into`), computes exactly the supernet's path.

Example:

>>> from kerasnas.spaces import ResidualSpace
>>> from kerasnas.oneshot import ResidualSupernet
>>> space = ResidualSpace((8, 8, 1), num_classes=10)
>>> net = ResidualSupernet(space, seed=0)                          # doctest: +SKIP
>>> net.train(x, y, seconds=20)                                    # doctest: +SKIP
>>> net.score("4x32 k3 dilation=none downsample=by_size dropout=0.0", x, x_val, y_val)  # doctest: +SKIP
"""

from __future__ import annotations

from kerasnas.oneshot.supernet import Supernet


class ResidualSupernet(Supernet):
    """The supernet of a `ResidualSpace` (images or sequences); see the module docstring.

    Args:
        space: A `ResidualSpace` (at full size: no search-time width fidelity).
        **kwargs: See `Supernet` (`seed`, `rule`, `learning_rate`, `batch_size`,
            `allowed`).
    """

    def __init__(self, space, **kwargs):
        from kerasnas.spaces.residual import ResidualSpace

        if not isinstance(space, ResidualSpace):
            raise TypeError(f"ResidualSupernet takes a ResidualSpace; got {type(space).__name__}.")
        if space.fidelity.get("width", 1.0) != 1.0:
            raise ValueError("ResidualSupernet holds the space at full size: clear the space's "
                             "width fidelity (downscale) first.")
        self.reductions = space.num_reductions()
        super().__init__(space, **kwargs)

    # ------------------------------------------------------------- layout
    def _plan(self, arch):
        return self.encoding.plan(arch, reductions=self.reductions)

    def _largest(self):
        """Per block position: the most output channels any architecture gives it, and
        whether any architecture strides there."""
        enc = self.encoding
        channels, strided = [0] * max(enc.blocks), [False] * max(enc.blocks)
        for n in enc.blocks:
            for downsample in enc.downsamples:
                arch = enc.architecture({"num_blocks": n, "width": max(enc.widths),
                                         "kernel": enc.kernels[0], "dilation": enc.dilations[0],
                                         "downsample": downsample, "dropout": enc.dropouts[0]})
                plan = self._plan(arch)
                for i in range(n):
                    channels[i] = max(channels[i], plan.widths[i])
                    strided[i] = strided[i] or i in plan.strided
        return channels, strided

    def build_weights(self):
        enc, rank = self.encoding, self.space.spatial_rank
        k_max = max(enc.kernels)
        self.k_max = k_max
        c_in = self.space.input_shape[-1]
        width = max(enc.widths)
        spatial = (3,) * rank
        self.add_weight("stem/kernel", spatial + (c_in, width), 3 ** rank * c_in,
                        3 ** rank * width)
        self.add_statistics("stem/bn", width)
        channels, strided = self._largest()
        self.max_channels = channels
        previous = width
        for i, (out, stride) in enumerate(zip(channels, strided, strict=True)):
            area = k_max ** rank
            self.add_weight(f"block{i}/conv1", (k_max,) * rank + (previous, out),
                            area * previous, area * out)
            self.add_statistics(f"block{i}/bn1", out)
            self.add_weight(f"block{i}/conv2", (k_max,) * rank + (out, out), area * out, area * out)
            self.add_statistics(f"block{i}/bn2", out)
            if stride:
                self.add_weight(f"block{i}/shortcut", (1,) * rank + (previous, out), previous, out)
                self.add_statistics(f"block{i}/shortcut_bn", out)
            previous = out
        outputs = self.space.num_classes or self.space.output_dim
        widest = max(channels)
        self.add_weight("head/kernel", (widest, outputs), widest, outputs)
        self.add_weight("head/bias", (outputs,), init="zeros")

    def structure(self, arch):
        """`(strided blocks, stem pool, blocks built)`: a plan that never strides (this input
        takes no reduction, or `downsample="none"`) builds the deepest stack and skips the
        blocks past `num_blocks` at run time, so all depths share one graph."""
        plan = self._plan(self.space.architecture(arch))
        depth = len(plan.widths) if plan.strided else max(self.encoding.blocks)
        return (plan.strided, plan.stem_pool, depth)

    def path(self, arch):
        arch = self.space.architecture(arch)
        return (int(arch["num_blocks"]), int(arch["width"]), int(arch["kernel"]),
                int(arch["dilation"] == "exponential"), float(arch["dropout"]))

    def scoring_key(self, arch):
        """Structure, depth, width, kernel and dilation: dropout acts only in training, and
        with no reduction for this input `downsample` changes nothing."""
        return (self.structure(arch), self.path(arch)[:4])

    # -------------------------------------------------------------- graph
    def _conv(self, x, kernel, stride=1, dilation=1):
        """`x` convolved with `kernel` ("same" padding), as Keras's Conv1D / Conv2D does."""
        tf = self._tf
        rank = self.space.spatial_rank
        conv = tf.nn.conv1d if rank == 1 else tf.nn.conv2d
        if dilation == 1:
            return conv(x, kernel, stride, "SAME")
        # Dilated through space-to-batch, the way tf.nn.convolution (and so Keras) does it:
        # TensorFlow's CPU kernels have no dilated filter gradient, and tf.nn.convolution
        # needs the kernel's size when tracing, which a run-time kernel size is not.
        span = (tf.shape(kernel)[0] - 1) * dilation  # the dilated kernel's width minus 1
        before = span // 2
        sizes = tf.shape(x)[1:1 + rank]
        extra = tf.math.floormod(-(sizes + span), dilation)  # padded sides divisible by it
        zero = tf.zeros([], tf.int32)
        pads = tf.stack([tf.stack([zero, zero])]
                        + [tf.stack([before, span - before + extra[i]]) for i in range(rank)]
                        + [tf.stack([zero, zero])])
        blocks = tf.space_to_batch_nd(tf.pad(x, pads), [dilation] * rank,
                                      tf.zeros([rank, 2], tf.int32))
        y = conv(blocks, kernel, 1, "VALID")
        crops = tf.stack([tf.stack([zero, extra[i]]) for i in range(rank)])
        return tf.batch_to_space(y, [dilation] * rank, crops)

    def _centre(self, kernel, k):
        offset = (self.k_max - k) // 2
        if self.space.spatial_rank == 1:
            return kernel[offset:offset + k]
        return kernel[offset:offset + k, offset:offset + k]

    def _dilated(self, x, kernel, stride, dilation, exponential):
        if dilation == 1 or "exponential" not in self.encoding.dilations:
            return self._conv(x, kernel, stride)
        if "none" not in self.encoding.dilations:
            return self._conv(x, kernel, stride, dilation)
        return self._tf.cond(exponential > 0, lambda: self._conv(x, kernel, stride, dilation),
                             lambda: self._conv(x, kernel, stride))

    def _block(self, h, i, stride, c_in, c_out, kernel, exponential, mode, collected):
        from kerasnas.spaces.encodings import ResidualEncoding

        tf = self._tf
        bn = lambda h, name, c: self.batch_norm(h, name, c, mode, collected)  # noqa: E731
        dilation = 2 ** (i % ResidualEncoding.DILATION_CYCLE)
        first = self._centre(self.weights[f"block{i}/conv1"], kernel)[..., :c_in, :c_out]
        y = self._dilated(h, first, stride, 1 if stride > 1 else dilation, exponential)
        y = tf.nn.relu(bn(y, f"block{i}/bn1", c_out))
        second = self._centre(self.weights[f"block{i}/conv2"], kernel)[..., :c_out, :c_out]
        y = bn(self._dilated(y, second, 1, dilation, exponential), f"block{i}/bn2", c_out)
        if stride > 1:
            shortcut = self._conv(h, self.weights[f"block{i}/shortcut"][..., :c_in, :c_out],
                                  stride)
            shortcut = bn(shortcut, f"block{i}/shortcut_bn", c_out)
        else:
            shortcut = h
        return tf.nn.relu(y + shortcut)

    def forward(self, x, key, path, mode, collected=None):
        tf = self._tf
        from kerasnas.spaces.encodings import ResidualEncoding

        strided, stem_pool, depth = key
        blocks, width, kernel, exponential, rate = path
        bn = lambda h, name, c: self.batch_norm(h, name, c, mode, collected)  # noqa: E731
        h = self._conv(x, self.weights["stem/kernel"][..., :width])
        h = tf.nn.relu(bn(h, "stem/bn", width))
        if stem_pool > 1:
            h = tf.nn.max_pool(h, stem_pool, stem_pool, "SAME")
        c_in, done = width, 0
        for i in range(depth):
            stride = 2 if i in strided else 1
            done += stride > 1
            c_out = width * min(2 ** done, ResidualEncoding.MAX_WIDTH_FACTOR)
            if strided:  # the depth is the structure's: every block runs
                h = self._block(h, i, stride, c_in, c_out, kernel, exponential, mode, collected)
            else:  # one graph for every depth: blocks past num_blocks pass h through
                h = self.skippable(i < blocks, h, lambda h, inner, i=i, c=c_in, o=c_out:
                                   self._block(h, i, 1, c, o, kernel, exponential, mode, inner),
                                   mode, collected)
            c_in = c_out
        pooled = tf.reduce_mean(h, axis=list(range(1, len(h.shape) - 1)))
        pooled = self.dropout(pooled, rate, mode)
        return self.head(pooled, c_in)

    # ------------------------------------------------------------- export
    def standalone_weights(self, arch):
        from kerasnas.spaces.encodings import ResidualEncoding

        arch = self.space.architecture(arch)
        plan = self._plan(arch)
        width, kernel = int(arch["width"]), int(arch["kernel"])
        v = self.variable

        def bn(name, c):
            return ("bn", [v(f"{name}/gamma")[:c], v(f"{name}/beta")[:c], v(f"{name}/mean")[:c],
                           v(f"{name}/var")[:c]])

        def centre(name, k):
            offset = (self.k_max - k) // 2
            value = v(name)
            return value[offset:offset + k] if self.space.spatial_rank == 1 \
                else value[offset:offset + k, offset:offset + k]

        out = [("stem", "conv", [v("stem/kernel")[..., :width]]), ("stem",) + bn("stem/bn", width)]
        c_in, done = width, 0
        for i in range(len(plan.widths)):
            stride = 2 if i in plan.strided else 1
            done += stride > 1
            c_out = width * min(2 ** done, ResidualEncoding.MAX_WIDTH_FACTOR)
            scope = f"block{i}"
            out.append((scope, "conv", [centre(f"{scope}/conv1", kernel)[..., :c_in, :c_out]]))
            out.append((scope,) + bn(f"{scope}/bn1", c_out))
            out.append((scope, "conv", [centre(f"{scope}/conv2", kernel)[..., :c_out, :c_out]]))
            out.append((scope,) + bn(f"{scope}/bn2", c_out))
            if stride > 1:
                out.append((scope, "conv", [v(f"{scope}/shortcut")[..., :c_in, :c_out]]))
                out.append((scope,) + bn(f"{scope}/shortcut_bn", c_out))
            c_in = c_out
        out.append(("head", "dense", [v("head/kernel")[:c_in], v("head/bias")]))
        return out
