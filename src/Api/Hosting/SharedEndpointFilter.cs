namespace Tether.Api.Hosting;

public static class SharedEndpointFilter
{
    /// <summary>
    /// Adds <typeparamref name="TFilter"/> as one instance per endpoint. <c>AddEndpointFilter&lt;T&gt;()</c> builds a new
    /// filter for every request, which throws away whatever the filter caches (the integration secret filter's digests
    /// were recomputed on every <c>/handle-event</c>).
    /// </summary>
    public static TBuilder AddSharedEndpointFilter<TBuilder, TFilter>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
        where TFilter : IEndpointFilter =>
        builder.AddEndpointFilterFactory((context, next) =>
        {
            var filter = ActivatorUtilities.CreateInstance<TFilter>(context.ApplicationServices);
            return invocation => filter.InvokeAsync(invocation, next);
        });
}
